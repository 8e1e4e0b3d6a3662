// Numbers for people: token amounts from bigints, durations, addresses. No floats for money.
import { formatUnits, parseUnits } from "ethers";

export const WAD_DECIMALS = 18;

/** `1234567.891` -> "1,234,567.89": a bigint of `decimals` shown with `places` decimals, rounded down. */
export function fmtUnits(value, decimals, places = 2) {
  if (value === null || value === undefined) return "—";
  const negative = value < 0n;
  const abs = negative ? -value : value;
  const scale = 10n ** BigInt(Math.max(decimals - places, 0));
  const text = formatUnits(abs / scale * scale, decimals);
  let [whole, frac = ""] = text.split(".");
  whole = whole.replace(/\B(?=(\d{3})+(?!\d))/g, ",");
  frac = (frac + "0".repeat(places)).slice(0, places);
  return (negative ? "-" : "") + whole + (places > 0 ? "." + frac : "");
}

/** A WAD value as a JS number, for charts and ratios only (never for amounts sent on chain). */
export function wadToNumber(value) {
  return Number(formatUnits(value, WAD_DECIMALS));
}

/** Parse what a person typed ("1,000.5") into token units; null when it is not a positive amount. */
export function parseAmount(text, decimals) {
  const clean = String(text || "").replace(/[,\s_]/g, "");
  if (!/^\d*\.?\d*$/.test(clean) || clean === "" || clean === ".") return null;
  const [, frac = ""] = clean.split(".");
  if (frac.length > decimals) return null;
  try {
    const v = parseUnits(clean, decimals);
    return v > 0n ? v : null;
  } catch {
    return null;
  }
}

export function fmtDuration(seconds) {
  const s = Math.max(0, Math.round(Number(seconds)));
  if (s < 90) return `${s} s`;
  if (s < 90 * 60) return `${Math.round(s / 60)} min`;
  if (s < 48 * 3600) return `${(s / 3600).toFixed(1)} h`;
  return `${(s / 86400).toFixed(1)} days`;
}

export function fmtTime(unixSeconds) {
  return new Date(Number(unixSeconds) * 1000).toISOString().replace("T", " ").slice(0, 16) + " UTC";
}

export function shortAddress(address) {
  return address ? `${address.slice(0, 6)}…${address.slice(-4)}` : "";
}

export function fmtBps(bps, places = 1) {
  return `${(Number(bps) / 100).toFixed(places)}%`;
}

export function fmtSigned(value, decimals, places = 3) {
  const text = fmtUnits(value, decimals, places);
  return value > 0n ? "+" + text : text;
}
