export {
  type ApprovalView,
  type ClientOptions,
  GatehouseClient,
  GatehouseClientError,
  type RedactResult,
  type ScanResult,
  type TokenResult,
} from './client.js';
