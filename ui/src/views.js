// Rendering: state in, DOM out. Figures carry their exact on-chain value in data-raw so anyone
// (a test, a curious user in devtools) can compare what is shown with what the chain says.
import { deltaChart } from "./chart.js";
import { fmtBps, fmtDuration, fmtSigned, fmtTime, fmtUnits, shortAddress, wadToNumber } from "./format.js";
import { chainName } from "./wallet.js";

const $ = (id) => document.getElementById(id);
const WAD = 10n ** 18n;
export const NO_REBALANCES = "No rebalances yet (the keeper is not running or has not needed to trade).";

export function setFigure(id, text, raw = null, cls = "") {
  const node = $(id);
  node.textContent = text;
  if (raw === null || raw === undefined) delete node.dataset.raw;
  else node.dataset.raw = String(raw);
  node.className = cls;
}

function cell(row, text, cls = "") {
  const td = document.createElement("td");
  td.textContent = text;
  if (cls) td.className = cls;
  row.append(td);
  return td;
}

function button(text, attrs) {
  const b = document.createElement("button");
  b.type = "button";
  b.textContent = text;
  Object.assign(b.dataset, attrs);
  return b;
}

export function seriesName(s) {
  return `#${s.id} ${s.isCall ? "call" : "put"} ${fmtUnits(s.strikeWad, 18, 0)}`;
}

// ------------------------------------------------------------------ header and banners

export function renderWallet(wallet, config) {
  $("network-name").textContent = `${config.network} · ${chainName(config.chain_id)}`;
  const status = $("network-status");
  const connect = $("connect");
  $("switch-network").hidden = !(wallet.connected && !wallet.onRightChain);
  if (!wallet.available) {
    status.textContent = "no wallet";
    status.dataset.state = "none";
    connect.hidden = true;
  } else if (!wallet.connected) {
    status.textContent = "not connected";
    status.dataset.state = "none";
    connect.hidden = false;
  } else {
    connect.hidden = true;
    status.textContent = wallet.onRightChain ? "network OK" : "wrong network";
    status.dataset.state = wallet.onRightChain ? "ok" : "wrong";
  }
  $("account").textContent = wallet.account ? shortAddress(wallet.account) : "";
  $("account").title = wallet.account || "";
  $("account").dataset.address = wallet.account || "";
}

/** banners: [{ key, text, error }] */
export function renderBanners(banners) {
  const box = $("banners");
  box.replaceChildren(...banners.map((b) => {
    const div = document.createElement("div");
    div.dataset.banner = b.key;
    div.className = b.error ? "error" : "";
    div.textContent = b.text;
    return div;
  }));
}

export function walletBanners(wallet, config, canRead) {
  const out = [];
  if (!wallet.available) {
    const reads = canRead ? "" : " Without one this page cannot read the chain either (`hv ui --rpc URL` shows the vault without a wallet).";
    out.push({ key: "no-wallet", text: `No wallet found in this browser. Install MetaMask (or another wallet that injects window.ethereum) to deposit or buy options.${reads}` });
  } else if (wallet.connected && !wallet.onRightChain) {
    out.push({
      key: "wrong-network", error: true,
      text: `Wrong network: your wallet is on ${chainName(wallet.chainId)}, but this vault ("${config.network}") is on ${chainName(config.chain_id)}. Switch network in your wallet, or press "Switch network", to continue.`,
    });
  } else if (!canRead) {
    out.push({ key: "connect-to-read", text: "Connect your wallet to read the vault: this page reads the chain through your wallet." });
  }
  return out;
}

export function vaultBanners(vs) {
  const out = [];
  if (vs.paused) {
    out.push({ key: "paused", error: true, text: "The vault is paused by its guardian: deposits and new options are stopped for now. Withdrawals, settlements and redemptions still work." });
  }
  if (!vs.oracleOk) {
    const stale = vs.priceAge > vs.priceHeartbeat || vs.volAge > vs.volHeartbeat;
    const which = vs.priceAge > vs.priceHeartbeat ? ["price", vs.priceAge, vs.priceHeartbeat] : ["implied-vol", vs.volAge, vs.volHeartbeat];
    out.push({
      key: "oracle", error: true,
      text: stale
        ? `The ${which[0]} oracle is stale: its last update is ${fmtDuration(which[1])} old and the vault accepts at most ${fmtDuration(which[2])}. Until it updates, the vault cannot value itself: NAV, previews and quotes are unavailable, and deposits, withdrawals and purchases wait.`
        : "The price oracle fails the vault's safety checks: NAV, previews and quotes are unavailable until it is healthy again.",
    });
  }
  if (vs.emergency) {
    out.push({ key: "emergency", error: true, text: "The vault is in emergency mode: its margin fell below the maintenance level. It writes no new options until it recovers; anyone may hedge it toward its own target." });
  }
  return out;
}

// ------------------------------------------------------------------ vault and user figures

export function renderVault(vs, st, usdDecimals) {
  if (!vs) {
    for (const id of ["nav-per-share", "tvl"]) setFigure(id, "—");
    return;
  }
  const unavailable = "unavailable (oracle failing its checks)";
  setFigure("nav-per-share", vs.navPerShare === null ? unavailable : `${fmtUnits(vs.navPerShare, usdDecimals, 6)} USDC`, vs.navPerShare);
  setFigure("tvl", vs.tvl === null ? unavailable : `${fmtUnits(vs.tvl, usdDecimals, 2)} USDC`, vs.tvl);
}

export function renderUser(us, st, usdDecimals) {
  if (!us) {
    for (const id of ["my-shares", "my-value", "my-usdc", "my-max-withdraw"]) setFigure(id, "connect a wallet", null, "muted");
    return;
  }
  setFigure("my-shares", `${fmtUnits(us.shares, st.shareDecimals, 4)} ${st.shareSymbol}`, us.shares);
  setFigure("my-value", us.sharesValue === null ? "unavailable (oracle)" : `${fmtUnits(us.sharesValue, usdDecimals, 2)} USDC`, us.sharesValue);
  setFigure("my-usdc", `${fmtUnits(us.usdc, usdDecimals, 2)} USDC`, us.usdc);
  setFigure("my-max-withdraw", `${fmtUnits(us.maxWithdraw, usdDecimals, 2)} USDC`, us.maxWithdraw);
}

// ------------------------------------------------------------------ series and positions

export function renderSeries(vs, usdDecimals) {
  const body = $("series-table").tBodies[0];
  const rows = (vs?.series ?? []).map((s) => {
    const tr = document.createElement("tr");
    tr.dataset.series = String(s.id);
    cell(tr, `#${s.id}`);
    cell(tr, s.isCall ? "call" : "put");
    cell(tr, fmtUnits(s.strikeWad, 18, 2));
    cell(tr, `${fmtTime(s.expiry)} (in ${fmtDuration(s.expiry - vs.now)})`);
    cell(tr, fmtUnits(s.openWad, 18, 2));
    const tooLate = vs.now + vs.minTimeToBuySeconds > s.expiry;
    const premium = cell(tr, tooLate ? "closed (too near expiry)" : s.premiumPerUnit === null ? "unavailable (oracle)" : `${fmtUnits(s.premiumPerUnit, usdDecimals, 2)} USDC`);
    premium.dataset.raw = s.premiumPerUnit === null ? "" : String(s.premiumPerUnit);
    const td = document.createElement("td");
    if (!tooLate) td.append(button("Buy…", { pick: String(s.id) }));
    tr.append(td);
    return tr;
  });
  body.replaceChildren(...rows);
  $("series-empty").hidden = rows.length > 0 || !vs;

  const select = $("buy-series");
  const current = select.value;
  const options = (vs?.series ?? []).map((s) => {
    const o = document.createElement("option");
    o.value = String(s.id);
    o.textContent = `${seriesName(s)} · ${fmtTime(s.expiry)}`;
    return o;
  });
  select.replaceChildren(...options);
  if (options.some((o) => o.value === current)) select.value = current;
}

/** Each position with what can be done with it: nothing yet, settle, or redeem. */
export function renderPositions(positions, vs, usdDecimals, connected) {
  const body = $("positions").tBodies[0];
  const empty = $("positions-empty");
  if (!connected || !positions) {
    body.replaceChildren();
    empty.textContent = connected ? "Reading…" : "Connect a wallet to see your options.";
    empty.hidden = false;
    return;
  }
  body.replaceChildren(...positions.map((p) => {
    const tr = document.createElement("tr");
    tr.dataset.position = String(p.id);
    tr.dataset.amount = String(p.amountWad);
    cell(tr, `#${p.id}`);
    cell(tr, p.isCall ? "call" : "put");
    cell(tr, fmtUnits(p.strikeWad, 18, 2));
    cell(tr, fmtTime(p.expiry));
    cell(tr, fmtUnits(p.amountWad, 18, 4));
    const action = document.createElement("td");
    if (p.settled) {
      const payout = p.payoffPerUnitWad * p.amountWad / WAD / 10n ** BigInt(18 - usdDecimals);
      cell(tr, payout > 0n ? `settled: pays ${fmtUnits(payout, usdDecimals, 2)} USDC` : "settled: expired worthless");
      action.append(button("Redeem", { redeem: String(p.id) }));
    } else if (vs && vs.now >= p.expiry) {
      cell(tr, p.settleRound ? "expired: ready to settle" : "expired: waiting for the first oracle update after expiry");
      if (p.settleRound) action.append(button("Settle", { settle: String(p.id), round: String(p.settleRound) }));
    } else {
      cell(tr, vs ? `live: expires in ${fmtDuration(p.expiry - vs.now)}` : "live");
    }
    tr.append(action);
    return tr;
  }));
  empty.textContent = "You hold no options.";
  empty.hidden = positions.length > 0;
}

// ------------------------------------------------------------------ hedge and risk

// What the vault's rebalance check says, in plain words (IHedgeVault.Reason).
export const REASON_WORDS = {
  None: "nothing to hedge: the net delta is within the dust tolerance",
  OutsideDust: "the keeper may trade toward zero when its policy wants to",
  OutsideHardBand: "outside the hard band: the keeper may trade at once",
  Emergency: "emergency: anyone may hedge the vault to its own target",
  IntervalNotElapsed: "the keeper traded recently: the next trade waits for the minimum interval",
  OracleInvalid: "the oracle fails the vault's checks: no trade",
  Paused: "the vault is paused: no trade",
  KeeperLate: "the keeper is late: anyone may hedge the vault to its own target",
  BudgetSpent: "the keeper's trading budget is used up until it refills",
};
// Who traded and why, for the history table.
const REBALANCE_WORDS = {
  OutsideDust: "keeper",
  OutsideHardBand: "keeper (outside the hard band)",
  Emergency: "emergency hedge",
  KeeperLate: "late-keeper hedge",
};

export function renderRisk(vs, rebalances) {
  if (!vs) return;
  const dust = vs.dustWad;
  if (vs.netDeltaWad === null) {
    setFigure("net-delta", "unavailable (oracle failing its checks)", null, "muted");
  } else {
    const abs = vs.netDeltaWad < 0n ? -vs.netDeltaWad : vs.netDeltaWad;
    const where = abs <= dust ? "within the dust tolerance" : abs <= vs.hardBandWad ? "inside the hard band" : "outside the hard band";
    setFigure("net-delta", `${fmtSigned(vs.netDeltaWad, 18, 3)} WETH (${where}; holds ${fmtUnits(vs.baseBalanceWad, 18, 3)} WETH against options' delta ${fmtSigned(vs.holdersDeltaWad, 18, 3)})`,
      vs.netDeltaWad, abs <= vs.hardBandWad ? "good" : "warn");
  }
  setFigure("hedge-limits",
    `dust ±${fmtUnits(dust, 18, 3)} WETH (nothing to hedge inside) · hard band ±${fmtUnits(vs.hardBandWad, 18, 3)} WETH (outside it for ${fmtDuration(vs.mustGraceSeconds)} since the last rebalance, anyone may hedge for a bounty)`,
    dust);
  const baseFull = vs.baseBudgetLeftWad >= vs.maxBaseTradedWad && vs.lossBudgetLeftQuote >= vs.maxExecutionLossQuote;
  const spent = vs.baseBudgetLeftWad === 0n || vs.lossBudgetLeftQuote === 0n;
  setFigure("budget",
    `${fmtUnits(vs.baseBudgetLeftWad, 18, 3)} of ${fmtUnits(vs.maxBaseTradedWad, 18, 3)} WETH to trade, ${fmtUnits(vs.lossBudgetLeftQuote, vs.usdDecimals, 2)} of ${fmtUnits(vs.maxExecutionLossQuote, vs.usdDecimals, 2)} USDC of execution cost left (per ${fmtDuration(vs.budgetWindowSeconds)}, refilling continuously)`,
    vs.baseBudgetLeftWad, spent ? "warn" : baseFull ? "good" : "");
  if (vs.marginRatioBps === null) {
    setFigure("margin-ratio", vs.oracleOk ? "no options written" : "unavailable (oracle failing its checks)", null, "muted");
  } else {
    const r = vs.marginRatioBps;
    const cls = r < BigInt(vs.maintenanceMarginBps) ? "bad" : r < BigInt(vs.initialMarginBps) ? "warn" : "good";
    setFigure("margin-ratio", `${fmtBps(r)} of notional (new options need ${fmtBps(vs.initialMarginBps, 0)}, maintenance ${fmtBps(vs.maintenanceMarginBps, 0)})${vs.emergency ? " · emergency" : ""}`, r, cls);
  }
  const priceStale = vs.priceAge > vs.priceHeartbeat;
  const volStale = vs.volAge > vs.volHeartbeat;
  const spot = vs.spotWad === null ? "" : `ETH/USD ${fmtUnits(vs.spotWad, 18, 2)}, `;
  setFigure("oracle-age",
    `${spot}price updated ${fmtDuration(vs.priceAge)} ago${priceStale ? " (stale)" : ""}, limit ${fmtDuration(vs.priceHeartbeat)} · implied vol ${vs.volWad === null ? "" : fmtBps(vs.volWad / 10n ** 14n) + ", "}updated ${fmtDuration(vs.volAge)} ago${volStale ? " (stale)" : ""}`,
    vs.priceAge, priceStale || volStale ? "bad" : "good");
  setFigure("last-rebalance", vs.lastRebalanceAt ? `${fmtDuration(vs.now - vs.lastRebalanceAt)} ago (hedge nonce ${vs.hedgeNonce})` : "never", vs.lastRebalanceAt);
  setFigure("hedge-check", REASON_WORDS[vs.rebalanceReason] ?? vs.rebalanceReason, vs.rebalanceReason,
    vs.mustPathOpen ? "bad" : vs.rebalanceReason === "BudgetSpent" ? "warn" : "");

  const note = $("keeper-note");
  const sentences = [];
  if (rebalances === null) sentences.push("Could not read the rebalance history.");
  else if (!rebalances.length) sentences.push(NO_REBALANCES);
  else sentences.push(`${rebalances.length} rebalance${rebalances.length === 1 ? "" : "s"}; the chart shows the net delta before and after each, and now.`);
  // The chain's own word: outside the hard band for longer than the grace since the last rebalance.
  if (vs.rebalanceReason === "KeeperLate" && vs.mustPathOpen) {
    const since = vs.lastRebalanceAt ? `for ${fmtDuration(vs.now - vs.lastRebalanceAt)}` : "yet";
    sentences.push(`A hedge is due (the net delta is outside the hard band) but none has happened ${since}: the keeper may not be running. Anyone may now hedge the vault to its own target for a small bounty.`);
  } else if (vs.rebalanceReason === "Emergency" && vs.mustPathOpen) {
    sentences.push("The vault is in emergency mode: anyone may hedge it to its own target for a small bounty.");
  } else if (vs.rebalanceReason === "BudgetSpent") {
    sentences.push("The keeper has used its trading budget for now: it can trade again as the budget refills; only an emergency or late-keeper hedge may trade meanwhile.");
  }
  note.textContent = sentences.join(" ");
  note.dataset.rebalances = rebalances === null ? "" : String(rebalances.length);

  const chartBox = $("delta-chart");
  const points = (rebalances ?? []).map((r) => ({ time: r.time, pre: wadToNumber(r.preDeltaWad), post: wadToNumber(r.postDeltaWad) }));
  const now = vs.netDeltaWad === null ? null : { time: vs.now, delta: wadToNumber(vs.netDeltaWad) };
  chartBox.replaceChildren(points.length ? deltaChart(points, now, wadToNumber(dust), wadToNumber(vs.hardBandWad)) : "");

  const body = $("rebalances").tBodies[0];
  body.replaceChildren(...(rebalances ?? []).slice(-8).reverse().map((r) => {
    const tr = document.createElement("tr");
    tr.dataset.nonce = String(r.nonce);
    cell(tr, `${fmtDuration(vs.now - r.time)} ago`);
    const who = REBALANCE_WORDS[r.reason] ?? r.reason;
    cell(tr, r.bounty > 0n ? `${who}, bounty ${fmtUnits(r.bounty, vs.usdDecimals, 2)} USDC` : who);
    cell(tr, `${fmtSigned(r.preDeltaWad, 18, 3)} → ${fmtSigned(r.postDeltaWad, 18, 3)}`);
    cell(tr, fmtSigned(r.baseChangeWad, 18, 3));
    cell(tr, fmtUnits(r.spotWad, 18, 2));
    return tr;
  }));
  $("rebalances").hidden = !(rebalances ?? []).length;
}

export function renderFooter(config, vs) {
  const f = $("footer");
  const parts = [`Deployment "${config.network}", chain ${config.chain_id}`, `vault ${config.contracts.vault}`, `option market ${config.contracts.option_market}`];
  if (vs) parts.push(`block ${vs.block}`);
  parts.push(config.read_rpc ? "reads: the server's read-only RPC" : "reads: your wallet");
  f.textContent = parts.join(" · ");
}
