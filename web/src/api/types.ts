/** Short names for the contract's schemas (generated into schema.d.ts from docs/openapi.yaml). */
import type { components } from "./schema";

type Schemas = components["schemas"];
export type Account = Schemas["stocktraderx.v1.Account"];
export type AccountRisk = Schemas["stocktraderx.v1.AccountRisk"];
export type Alert = Schemas["stocktraderx.v1.Alert"];
export type Bar = Schemas["stocktraderx.v1.Bar"];
export type DepthSnapshot = Schemas["stocktraderx.v1.DepthSnapshot"];
export type DepthUpdate = Schemas["stocktraderx.v1.DepthUpdate"];
export type ExecutionReport = Schemas["stocktraderx.v1.ExecutionReport"];
export type Instrument = Schemas["stocktraderx.v1.Instrument"];
export type Order = Schemas["stocktraderx.v1.Order"];
export type OrderEntryInterval = Schemas["stocktraderx.v1.OrderEntryInterval"];
export type PlaceOrderRequest = Schemas["stocktraderx.v1.PlaceOrderRequest"];
export type Position = Schemas["stocktraderx.v1.Position"];
export type PriceLevel = Schemas["stocktraderx.v1.PriceLevel"];
export type Quote = Schemas["stocktraderx.v1.Quote"];
export type RiskLimits = Schemas["stocktraderx.v1.RiskLimits"];
export type Trade = Schemas["stocktraderx.v1.Trade"];
export type User = Schemas["stocktraderx.v1.User"];
export type LoginResponse = Schemas["stocktraderx.v1.LoginResponse"];
export type Side = NonNullable<PlaceOrderRequest["side"]>;
export type Role = NonNullable<User["roles"]>[number];
export type RpcStatus = Schemas["google.rpc.Status"];
export type ApiKey = Schemas["stocktraderx.v1.ApiKey"];
export type MarketStatistics = Schemas["stocktraderx.v1.MarketStatistics"];
export type OrderEvent = Schemas["stocktraderx.v1.OrderEvent"];
