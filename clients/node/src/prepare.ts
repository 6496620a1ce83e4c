// --prepare: an administrator makes the two accounts fit for the example
// (RiskService), as an operator would before trading: cash for the buyer,
// short selling for the seller, whose account may hold no shares.
import type { ChannelCredentials, Metadata } from "@grpc/grpc-js";
import {
  FundAccountRequest,
  GetAccountRequest,
  RiskServiceClient,
  UpdateRiskLimitsRequest,
} from "./api.js";
import { call, errorDetails, isServiceError } from "./connection.js";
import { formatPrice } from "./money.js";

export async function prepareAccounts(
  target: string,
  channel: ChannelCredentials,
  auth: Metadata,
  seller: string,
  buyer: string,
  cash: bigint,
  say: (line: string) => void,
): Promise<void> {
  const risk = new RiskServiceClient(target, channel);
  try {
    const reason = "Node.js example client";
    await call(
      risk.updateRiskLimits.bind(risk),
      UpdateRiskLimitsRequest.fromPartial({
        accountId: seller,
        limits: { allowShortSelling: true },
        updateMask: ["allow_short_selling"],
        reason,
      }),
      auth,
    );
    say(`prepared ${seller}: short selling allowed`);
    const balance = await cashOf(risk, buyer, auth);
    if (balance < cash) {
      await call(
        risk.fundAccount.bind(risk),
        FundAccountRequest.fromPartial({ accountId: buyer, amount: cash - balance, reason }),
        auth,
      );
    }
    say(`prepared ${buyer}: cash at least ${formatPrice(cash)}`);
  } finally {
    risk.close();
  }
}

/** The account's cash; 0 for an account the exchange has not seen yet. */
async function cashOf(risk: RiskServiceClient, account: string, auth: Metadata): Promise<bigint> {
  try {
    const answer = await call(
      risk.getAccount.bind(risk),
      GetAccountRequest.fromPartial({ accountId: account }),
      auth,
    );
    return answer.account?.cashBalance ?? 0n;
  } catch (error) {
    if (isServiceError(error) && errorDetails(error).errorInfo?.reason === "UNKNOWN_ACCOUNT") {
      return 0n;
    }
    throw error;
  }
}
