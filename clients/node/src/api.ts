// The generated stubs this client uses, from protos/gen/typescript (made by
// `make protos`, never edited). One module names the path, so that the rest
// of the client imports "./api.js".
export { Status } from "../../../protos/gen/typescript/google/rpc/status.js";
export { BadRequest, ErrorInfo } from "../../../protos/gen/typescript/google/rpc/error_details.js";
export { Code } from "../../../protos/gen/typescript/google/rpc/code.js";
export {
  OrderType,
  RejectReason,
  Side,
  TimeInForce,
  rejectReasonToJSON,
} from "../../../protos/gen/typescript/stocktraderx/v1/common.js";
export {
  GetDepthRequest,
  GetQuoteRequest,
  ListTradesRequest,
  MarketDataChannel,
  MarketDataServiceClient,
  type Quote,
  type SubscribeMarketDataResponse,
  type Trade,
} from "../../../protos/gen/typescript/stocktraderx/v1/market_data.js";
export {
  CancelOrderRequest,
  ExecType,
  type ExecutionReport,
  LiquidityIndicator,
  OrderServiceClient,
  OrderStatus,
  OrderStreamRequest,
  type OrderStreamResponse,
  PlaceOrderRequest,
  execTypeToJSON,
  orderStatusToJSON,
} from "../../../protos/gen/typescript/stocktraderx/v1/orders.js";
export {
  LoginRequest,
  UserServiceClient,
} from "../../../protos/gen/typescript/stocktraderx/v1/users.js";
export {
  FundAccountRequest,
  GetAccountRequest,
  RiskServiceClient,
  UpdateRiskLimitsRequest,
} from "../../../protos/gen/typescript/stocktraderx/v1/risk.js";
export {
  GetInstrumentRequest,
  ReferenceDataServiceClient,
} from "../../../protos/gen/typescript/stocktraderx/v1/reference_data.js";
