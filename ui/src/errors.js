// Why something failed, in plain words: wallet rejections, reverts decoded by custom-error name
// (every error in every ABI the server gives us, so an error raised by the vault inside a call to
// the market still decodes), and the node's own complaints.
import { ErrorFragment, Interface } from "ethers";
import { fmtDuration, fmtUnits } from "./format.js";

const BUILTIN = ["error Error(string reason)", "error Panic(uint256 code)"];

/** A decoder over every custom error in `abis`: data -> { name, args, text } or null. */
export function makeDecoder(abis) {
  const bySelector = new Map();
  for (const abi of Object.values(abis)) {
    for (const item of abi) {
      if (item.type !== "error") continue;
      const fragment = ErrorFragment.from(item);
      bySelector.set(fragment.selector, fragment);
    }
  }
  const iface = new Interface([...BUILTIN, ...bySelector.values()]);
  return function decode(data) {
    if (typeof data !== "string" || data.length < 10) return null;
    let parsed = null;
    try {
      parsed = iface.parseError(data);
    } catch {
      return { name: `unknown error ${data.slice(0, 10)}`, args: {}, text: `unknown error ${data.slice(0, 10)}` };
    }
    if (!parsed) return { name: `unknown error ${data.slice(0, 10)}`, args: {}, text: `unknown error ${data.slice(0, 10)}` };
    const args = {};
    parsed.fragment.inputs.forEach((input, i) => { args[input.name || `arg${i}`] = parsed.args[i]; });
    const shown = Object.entries(args).map(([k, v]) => `${k}=${showValue(v)}`).join(", ");
    return { name: parsed.name, args, text: `${parsed.name}(${shown})` };
  };
}

function showValue(v) {
  if (typeof v === "string" && /^0x[0-9a-f]{64}$/i.test(v)) {
    const ascii = v.slice(2).replace(/(00)+$/, "").match(/../g)?.map((h) => String.fromCharCode(parseInt(h, 16))).join("") ?? "";
    if (/^[A-Za-z0-9]+$/.test(ascii)) return ascii;
  }
  return String(v);
}

// Only these keys lead to revert data: `transaction.data` and `payload.params` hold calldata.
const DATA_PATHS = ["data", "error", "info", "cause", "originalError"];

/** The revert data hidden somewhere in a wallet's or ethers' error, or null. */
export function findRevertData(err, depth = 0) {
  if (!err || typeof err !== "object" || depth > 6) return null;
  if (typeof err.data === "string" && /^0x[0-9a-fA-F]{8}/.test(err.data)) return err.data;
  for (const key of DATA_PATHS) {
    const found = findRevertData(err[key], depth + 1);
    if (found) return found;
  }
  return null;
}

function hasCode(err, code, depth = 0) {
  if (!err || typeof err !== "object" || depth > 6) return false;
  if (err.code === code) return true;
  return DATA_PATHS.some((k) => hasCode(err[k], code, depth + 1));
}

export function isRejection(err) {
  return hasCode(err, 4001) || hasCode(err, "ACTION_REJECTED");
}

/** Plain words for a decoded revert; `units.usd` is the quote token's decimals. */
function revertWords(rev, units) {
  const usd = (v) => `${fmtUnits(v, units.usd, 2)} USDC`;
  const base = (v) => fmtUnits(v, 18, 4);
  const a = rev.args;
  switch (rev.name) {
    case "EnforcedPause":
      return "The vault is paused by its guardian: deposits and new options are stopped for now. Withdrawals, settlements and redemptions still work.";
    case "EmergencyMode":
      return "The vault is in emergency mode (its margin fell below the maintenance level): it writes no new options until it recovers.";
    case "MarginInsufficient":
      return "The vault's margin is full: writing this option would leave it below its initial margin requirement. Try a smaller amount, or wait for more deposits.";
    case "ResidualDeltaTooLarge":
      return `The vault cannot take more of this one-sided (put-heavy) risk: its unhedgeable delta would reach ${base(a.residualWad)} WETH, above its limit of ${base(a.maxWad)}. Try a smaller amount or a call.`;
    case "WithdrawExceedsMax":
      return `You can withdraw at most ${usd(a.max)} right now: the rest backs the options the vault has written or payoffs it owes.`;
    case "DepositCapExceeded":
      return `The vault is at its deposit cap: it can take at most ${usd(a.cap)} more.`;
    case "ERC20InsufficientBalance":
      return `Not enough USDC in your wallet: you have ${usd(a.balance)}, this needs ${usd(a.needed)}.`;
    case "ERC20InsufficientAllowance":
      return `The USDC allowance is too small (${usd(a.allowance)} approved, ${usd(a.needed)} needed): approve first.`;
    case "OracleStaleAnswer":
      return `The price oracle is stale: its last update is ${fmtDuration(a.blockTimestamp - a.updatedAt)} old and the vault accepts at most ${fmtDuration(a.heartbeatSeconds)}. The vault cannot value itself until the feed updates; try again later.`;
    case "OracleCallFailed": case "OracleDecimalsUnsupported": case "OracleNonPositiveAnswer": case "OracleUpdatedAtZero":
    case "OracleUpdatedAtInFuture": case "OracleIncompleteRound": case "OracleAnswerBelowMin": case "OracleAnswerAboveMax":
      return "The price oracle failed the vault's safety checks: the vault cannot value itself until the feed is healthy again. Try again later.";
    case "SequencerDown": case "SequencerGracePeriodNotOver": case "SequencerRoundInvalid":
      return "The network's sequencer is down or just came back: the vault waits out a grace period before trusting prices.";
    case "PremiumAboveMax":
      return `The premium is now ${usd(a.premium)}, above your maximum of ${usd(a.maxPremium)}: the price moved. Check the new quote and try again.`;
    case "SeriesTooCloseToExpiry":
      return `This series expires too soon to buy: no purchases in its last ${fmtDuration(a.minTimeToBuy)}.`;
    case "SeriesNotLive": case "SeriesUnknown": case "SeriesExpired":
      return "This series is no longer on sale.";
    case "SeriesNotExpired":
      return "This series has not expired yet: it can be settled after its expiry.";
    case "SeriesNotSettled":
      return "This series is not settled yet: settle it first (anyone can, after expiry).";
    case "SettlementRoundTooEarly": case "SettlementRoundNotFirst":
      return "That oracle round is not the first one after this series' expiry. Reload the page: it finds the right round.";
    case "SettlementPriceInvalid":
      return "The oracle's first round after expiry reports no valid price, so this series cannot settle on it.";
    case "AmountBelowMinimum":
      return `The amount is below the market's minimum of ${base(a.minWad)}.`;
    case "DeadlinePassed":
      return "The transaction waited too long and its deadline passed. Try again.";
    case "InsufficientFunds":
      return "The vault does not hold enough to pay this right now.";
    case "ERC1155InsufficientBalance":
      return "You do not hold that many options.";
    case "ZeroAmount":
      return "The amount is too small: it rounds to zero.";
    case "ERC4626ExceededMaxDeposit": case "ERC4626ExceededMaxMint":
      return "The vault takes no deposit of that size now.";
    case "ERC4626ExceededMaxWithdraw": case "ERC4626ExceededMaxRedeem":
      return "You cannot withdraw that much right now (margin, or your balance).";
    case "Error":
      return `The contract refused: ${a.reason}.`;
    case "Panic":
      return `The contract hit an internal error (panic code ${a.code}).`;
    default:
      return `The contract refused this transaction (${rev.name}).`;
  }
}

/**
 * Explain `err` for a person. Returns { kind, words, revert }: kind is one of
 * rejected | reverted | funds | network | other; revert is the decoded error text or null.
 */
export function explain(err, decode, units) {
  if (isRejection(err)) {
    return { kind: "rejected", words: "You rejected the request in your wallet: nothing was sent.", revert: null };
  }
  const data = findRevertData(err);
  if (data) {
    const rev = decode(data);
    if (rev) return { kind: "reverted", words: revertWords(rev, units), revert: rev.text, name: rev.name };
  }
  const message = String(err?.shortMessage || err?.info?.error?.message || err?.message || err);
  if (hasCode(err, "INSUFFICIENT_FUNDS") || /insufficient funds/i.test(message)) {
    return { kind: "funds", words: "Your wallet does not have enough ETH to pay for gas.", revert: null };
  }
  if (hasCode(err, "CALL_EXCEPTION") || /revert/i.test(message)) {
    return { kind: "reverted", words: "The contract refused this transaction without giving a reason.", revert: null };
  }
  if (hasCode(err, "NETWORK_ERROR") || /network changed/i.test(message)) {
    return { kind: "network", words: "Your wallet changed network while this was running: check the network and try again.", revert: null };
  }
  return { kind: "other", words: `Something went wrong: ${message}`, revert: null };
}
