// Command line and environment, named as the `stx` commands name them.
import { parseArgs } from "node:util";
import type { TlsFiles } from "./connection.js";
import { parsePrice } from "./money.js";

export interface Options {
  target: string;
  tls: TlsFiles | undefined;
  username: string;
  password: string;
  seller: string;
  buyer: string;
  symbol: string;
  price: bigint;
  quantity: bigint;
  prepare: boolean;
}

export const USAGE = `usage: tsx src/main.ts [--target HOST:PORT] [--ca FILE | --plaintext]
    [--cert FILE --key FILE] [--username NAME] [--seller ACCOUNT] [--buyer ACCOUNT]
    [--symbol SYMBOL] [--price DECIMAL] [--quantity N] [--prepare]

The password is read from STX_PASSWORD. Defaults: STX_TARGET or
localhost:50051, STX_CA_FILE or data/tls/ca.pem (STX_PLAINTEXT=1 for a server
with TLS off), STX_CLIENT_CERT / STX_CLIENT_KEY, username admin, accounts
SELLER and BUYER, AAPL, 190.00, 100 shares. --prepare (an administrator's
act) allows the seller to sell short and funds the buyer first.`;

export function readOptions(argv: string[], env: NodeJS.ProcessEnv): Options {
  const { values } = parseArgs({
    args: argv,
    strict: true,
    options: {
      target: { type: "string", default: env.STX_TARGET ?? "localhost:50051" },
      ca: { type: "string", default: env.STX_CA_FILE ?? "data/tls/ca.pem" },
      cert: { type: "string", default: env.STX_CLIENT_CERT },
      key: { type: "string", default: env.STX_CLIENT_KEY },
      plaintext: { type: "boolean", default: env.STX_PLAINTEXT === "1" },
      username: { type: "string", default: "admin" },
      seller: { type: "string", default: "SELLER" },
      buyer: { type: "string", default: "BUYER" },
      symbol: { type: "string", default: "AAPL" },
      price: { type: "string", default: "190.00" },
      quantity: { type: "string", default: "100" },
      prepare: { type: "boolean", default: false },
    },
  });
  const password = env.STX_PASSWORD;
  if (!password) {
    throw new Error("set STX_PASSWORD to the password of --username");
  }
  if (!/^[1-9][0-9]*$/.test(values.quantity)) {
    throw new Error(`--quantity must be a whole number of shares, not ${values.quantity}`);
  }
  if (values.seller === values.buyer) {
    // Self-trade prevention: one account's orders never trade with each other.
    throw new Error("--seller and --buyer must be two accounts");
  }
  if ((values.cert === undefined) !== (values.key === undefined)) {
    throw new Error("--cert and --key go together");
  }
  return {
    target: values.target,
    tls: values.plaintext ? undefined : { ca: values.ca, cert: values.cert, key: values.key },
    username: values.username,
    password,
    seller: values.seller,
    buyer: values.buyer,
    symbol: values.symbol,
    price: parsePrice(values.price),
    quantity: BigInt(values.quantity),
    prepare: values.prepare,
  };
}
