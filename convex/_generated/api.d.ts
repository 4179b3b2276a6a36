/* eslint-disable */
/**
 * Generated `api` utility.
 *
 * THIS CODE IS AUTOMATICALLY GENERATED.
 *
 * To regenerate, run `npx convex dev`.
 * @module
 */

import type {
  ApiFromModules,
  FilterApi,
  FunctionReference,
} from "convex/server";
import type * as billing_model from "../billing/model.js";
import type * as billing_requests from "../billing/requests.js";
import type * as billing_routes from "../billing/routes.js";
import type * as billing_signature from "../billing/signature.js";
import type * as billing_store from "../billing/store.js";
import type * as http from "../http.js";

/**
 * A utility for referencing Convex functions in your app's API.
 *
 * Usage:
 * ```js
 * const myFunctionReference = api.myModule.myFunction;
 * ```
 */
declare const fullApi: ApiFromModules<{
  "billing/model": typeof billing_model;
  "billing/requests": typeof billing_requests;
  "billing/routes": typeof billing_routes;
  "billing/signature": typeof billing_signature;
  "billing/store": typeof billing_store;
  http: typeof http;
}>;
export declare const api: FilterApi<
  typeof fullApi,
  FunctionReference<any, "public">
>;
export declare const internal: FilterApi<
  typeof fullApi,
  FunctionReference<any, "internal">
>;
