// SPDX-License-Identifier: Apache-2.0
// tradetrail-client: the package's public surface (see README.md).
export * from "./client.js";
export * from "./buffer.js";
export * from "./verify.js";
export * from "./provenance.js";
