// What the server tells the page: the deployment (addresses, chain id) and the contracts' ABIs.

async function getJson(path) {
  const resp = await fetch(path, { cache: "no-store" });
  if (!resp.ok) throw new Error(`${path}: HTTP ${resp.status}`);
  return resp.json();
}

/** { network, chain_id, deployed_at_block, contracts: {vault, option_market, ...}, usd_decimals, read_rpc, abis } */
export async function loadConfig() {
  const [config, abis] = await Promise.all([getJson("config.json"), getJson("abi.json")]);
  return { ...config, abis };
}
