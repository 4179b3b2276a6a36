// The Convex suite (convex/): convex-test runs the functions against an
// in-memory backend, in the edge runtime Convex functions run in.
import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["convex/**/*.test.ts"],
    environment: "edge-runtime",
  },
});
