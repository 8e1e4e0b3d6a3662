// Every read the page makes, through one ethers provider (the read-only RPC the server forwards,
// or the wallet). Figures the oracle must back come back null when it fails its checks.
import { Contract } from "ethers";

const WAD = 10n ** 18n;
const MAX_UINT = (1n << 256n) - 1n;
// IHedgeVault.Reason, in the enum's order.
const REASONS = ["None", "OutsideDust", "OutsideHardBand", "Emergency", "IntervalNotElapsed", "OracleInvalid", "Paused",
  "KeeperLate", "BudgetSpent"];
// The must path: anyone may hedge the vault to its own target, for a bounty.
export const MUST_REASONS = ["Emergency", "KeeperLate"];
const MAX_EVENTS = 60;

async function maybe(promise) {
  try {
    return await promise;
  } catch {
    return null;
  }
}

export class Reader {
  constructor(config, provider) {
    const c = config.contracts;
    const abi = config.abis;
    this.config = config;
    this.provider = provider;
    this.vault = new Contract(c.vault, abi.HedgeVault, provider);
    this.market = new Contract(c.option_market, abi.OptionMarket, provider);
    this.lens = new Contract(c.vault_lens, abi.VaultLens, provider);
    this.usd = new Contract(c.usd, abi.ERC20, provider);
    this.priceFeed = new Contract(c.price_feed, abi.AggregatorV3, provider);
    this._static = null;
  }

  /** Things that do not change: token decimals and names. */
  async statics() {
    if (!this._static) {
      const [shareDecimals, shareSymbol, usdDecimals] = await Promise.all([
        this.vault.decimals(), this.vault.symbol(), this.usd.decimals(),
      ]);
      this._static = { shareDecimals: Number(shareDecimals), shareSymbol, usdDecimals: Number(usdDecimals) };
    }
    return this._static;
  }

  /** The vault as the keeper sees it (VaultLens.riskSnapshot), plus NAV per share and quotes. */
  async vaultState() {
    const st = await this.statics();
    const [snap, oracleParams, marketParams] = await Promise.all([
      this.lens.riskSnapshot(this.config.contracts.vault), this.vault.oracleParams(), this.market.params(),
    ]);
    const oneShare = 10n ** BigInt(st.shareDecimals);
    const ok = snap.oracleOk;
    const [navPerShare, quotes] = await Promise.all([
      ok ? maybe(this.vault.convertToAssets(oneShare)) : null,
      Promise.all(snap.series.map((s) => (ok ? maybe(this.market.quote(s.id, WAD)) : null))),
    ]);
    const series = snap.series.map((s, i) => ({
      id: s.id, strikeWad: s.strikeWad, expiry: Number(s.expiry), isCall: s.isCall, openWad: s.openWad, premiumPerUnit: quotes[i],
    }));
    series.sort((a, b) => (a.expiry - b.expiry) || (a.strikeWad < b.strikeWad ? -1 : 1));
    return {
      usdDecimals: st.usdDecimals,
      block: Number(snap.blockNumber),
      now: Number(snap.timestamp),
      oracleOk: ok,
      paused: snap.paused,
      navPerShare,
      tvl: ok ? snap.totalAssets : null,
      totalSupply: snap.totalSupply,
      quoteBalance: snap.quoteBalance,
      baseBalanceWad: snap.baseBalanceWad,
      owedQuote: snap.owedQuote,
      spotWad: ok ? snap.spotWad : null,
      volWad: ok ? snap.volWad : null,
      priceAge: Number(snap.timestamp) - Number(snap.priceUpdatedAt),
      volAge: Number(snap.timestamp) - Number(snap.volUpdatedAt),
      priceHeartbeat: Number(oracleParams.priceHeartbeatSeconds),
      volHeartbeat: Number(oracleParams.volHeartbeatSeconds),
      netDeltaWad: ok ? snap.netDeltaWad : null,
      holdersDeltaWad: ok ? snap.holdersDeltaWad : null,
      dustWad: snap.hedgeParams.dustDeltaWad,
      hardBandWad: snap.hedgeParams.hardBandWad,
      minIntervalSeconds: Number(snap.hedgeParams.minRebalanceIntervalSeconds),
      mustGraceSeconds: Number(snap.hedgeParams.mustGraceSeconds),
      budgetWindowSeconds: Number(snap.budgetParams.windowSeconds),
      maxBaseTradedWad: snap.budgetParams.maxBaseTradedWad,
      maxExecutionLossQuote: snap.budgetParams.maxExecutionLossQuote,
      baseBudgetLeftWad: snap.check.baseBudgetWad,
      lossBudgetLeftQuote: snap.check.lossBudgetQuote,
      marginRatioBps: !ok || snap.marginRatioBps === MAX_UINT ? null : snap.marginRatioBps,
      nothingWritten: snap.notionalValueWad === 0n,
      initialMarginBps: Number(snap.riskParams.initialMarginBps),
      maintenanceMarginBps: Number(snap.riskParams.maintenanceMarginBps),
      emergency: snap.hedge.emergency,
      hedgeNonce: Number(snap.hedge.nonce),
      lastRebalanceAt: Number(snap.hedge.lastRebalanceAt),
      rebalanceAllowed: snap.check.needed,
      rebalanceReason: REASONS[Number(snap.check.reason)] ?? String(snap.check.reason),
      mustPathOpen: snap.check.needed && MUST_REASONS.includes(REASONS[Number(snap.check.reason)]),
      minBuyWad: marketParams.minBuyWad,
      minTimeToBuySeconds: Number(marketParams.minTimeToBuySeconds),
      spreadBps: Number(marketParams.spreadBps),
      series,
    };
  }

  /** One account's balances, allowances and shares. */
  async user(account) {
    const c = this.config.contracts;
    const [usdc, eth, allowanceVault, allowanceMarket, shares, maxWithdraw, maxRedeem] = await Promise.all([
      this.usd.balanceOf(account), this.provider.getBalance(account), this.usd.allowance(account, c.vault),
      this.usd.allowance(account, c.option_market), this.vault.balanceOf(account),
      this.vault.maxWithdraw(account), this.vault.maxRedeem(account),
    ]);
    const sharesValue = shares > 0n ? await maybe(this.vault.convertToAssets(shares)) : 0n;
    return { usdc, eth, allowanceVault, allowanceMarket, shares, sharesValue, maxWithdraw, maxRedeem };
  }

  /** Every series the account holds: live ones, expired ones awaiting settlement, settled ones to redeem. */
  async positions(account, live) {
    const next = Number(await this.market.nextSeriesId());
    const ids = [];
    for (let id = Math.max(1, next - 200); id < next; id++) ids.push(BigInt(id));
    if (!ids.length) return [];
    const balances = await this.market.balanceOfBatch(ids.map(() => account), ids);
    const liveById = new Map(live.map((s) => [s.id, s]));
    const held = ids.map((id, i) => ({ id, amountWad: balances[i] })).filter((p) => p.amountWad > 0n);
    return Promise.all(held.map(async (p) => {
      const s = liveById.get(p.id);
      if (s) return { ...p, ...s, settled: false };
      const [series, payoffPerUnitWad, settled] = await this.market.settledSeries(p.id);
      return {
        ...p, strikeWad: series.strikeWad, expiry: Number(series.expiry), isCall: series.isCall, settled, payoffPerUnitWad,
      };
    }));
  }

  /** The price-feed round a series settles with: the first one updated at or after expiry, however
   *  long after (null if none yet). Round ids are `phase << 64 | n`, update times increasing in n:
   *  bisection within the latest phase, as the keeper does (keeper/settlement.py). */
  async settlementRound(expiry) {
    const latest = await this.priceFeed.latestRoundData();
    if (Number(latest.updatedAt) < expiry) return null;
    let lo = ((latest.roundId >> 64n) << 64n) | 1n;
    let hi = latest.roundId; // invariant: round `hi` is at or after expiry
    while (lo < hi) {
      const mid = (lo + hi) / 2n;
      const round = await maybe(this.priceFeed.getRoundData(mid)); // a missing round counts as before
      if (round && Number(round.updatedAt) >= expiry) hi = mid;
      else lo = mid + 1n;
    }
    return hi;
  }

  /** The vault's Rebalanced events (the keeper's trades), oldest first, with their block times. */
  async rebalances() {
    const from = this.config.deployed_at_block || 0;
    const logs = await this.vault.queryFilter(this.vault.filters.Rebalanced(), from, "latest");
    const recent = logs.slice(-MAX_EVENTS);
    const times = new Map();
    await Promise.all([...new Set(recent.map((l) => l.blockNumber))].map(async (n) => {
      times.set(n, (await this.provider.getBlock(n)).timestamp);
    }));
    return recent.map((l) => ({
      block: l.blockNumber,
      time: Number(times.get(l.blockNumber)),
      nonce: l.args.nonce,
      caller: l.args.caller,
      reason: REASONS[Number(l.args.reason)] ?? String(l.args.reason),
      preDeltaWad: l.args.preDeltaWad,
      postDeltaWad: l.args.postDeltaWad,
      spotWad: l.args.spotWad,
      baseChangeWad: l.args.baseChangeWad,
      quoteChange: l.args.quoteChange,
      bounty: l.args.bounty,
      tx: l.transactionHash,
    }));
  }
}
