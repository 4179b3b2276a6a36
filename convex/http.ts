// HTTP routes of this deployment. The billing routes are the account-store
// contract (tests/contract/convex): signed POSTs from the Rust Lambdas.

import { httpRouter } from "convex/server";
import {
  acknowledgeProvisioning,
  BILLING_PATHS,
  compareAndSet,
  expired,
  getAccount,
  pendingPaypalCancellations,
  poloSubscribers,
  provisioningMismatches,
} from "./billing/routes";

const http = httpRouter();

http.route({ path: BILLING_PATHS.get, method: "POST", handler: getAccount });
http.route({
  path: BILLING_PATHS.compareAndSet,
  method: "POST",
  handler: compareAndSet,
});
http.route({
  path: BILLING_PATHS.acknowledgeProvisioning,
  method: "POST",
  handler: acknowledgeProvisioning,
});
http.route({
  path: BILLING_PATHS.provisioningMismatches,
  method: "POST",
  handler: provisioningMismatches,
});
http.route({ path: BILLING_PATHS.expired, method: "POST", handler: expired });
http.route({
  path: BILLING_PATHS.poloSubscribers,
  method: "POST",
  handler: poloSubscribers,
});
http.route({
  path: BILLING_PATHS.pendingPaypalCancellations,
  method: "POST",
  handler: pendingPaypalCancellations,
});

export default http;
