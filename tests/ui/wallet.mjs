// An injected EIP-1193 wallet for the end-to-end test, added to the page before its scripts run
// (page.addInitScript). Like MetaMask it answers eth_requestAccounts / eth_accounts / eth_chainId,
// wallet_switchEthereumChain, emits accountsChanged / chainChanged, and forwards everything else to
// the node; eth_sendTransaction goes to Anvil, which signs for its unlocked development account.
// The test steers it through window.__hvWallet: a different chain id (wrong network), or
// `rejectNext` (the user presses "Reject": error 4001, as MetaMask throws it).
// Playwright serialises this function into the page, so it may use nothing from this module.
// `__hvRpc` is a Playwright binding to the Node side, which posts the call to Anvil.
export function injectWallet({ account, chainId }) {
  const listeners = {};
  const state = { account, chainId, connected: false, rejectNext: false, calls: [] };
  const emit = (event, arg) => (listeners[event] || []).forEach((fn) => { try { fn(arg); } catch (e) { console.error(e); } });
  const fail = (code, message, data) => Object.assign(new Error(message), { code, data });
  state.setChain = (id) => { state.chainId = id; emit("chainChanged", id); };
  window.__hvWallet = state;
  window.ethereum = {
    isHvTestWallet: true,
    on(event, fn) { (listeners[event] ||= []).push(fn); return this; },
    removeListener(event, fn) { listeners[event] = (listeners[event] || []).filter((g) => g !== fn); return this; },
    async request({ method, params = [] }) {
      state.calls.push(method);
      switch (method) {
        case "eth_requestAccounts":
          state.connected = true;
          emit("accountsChanged", [state.account]);
          return [state.account];
        case "eth_accounts":
          return state.connected ? [state.account] : [];
        case "eth_chainId":
          return state.chainId;
        case "net_version":
          return String(parseInt(state.chainId, 16));
        case "wallet_switchEthereumChain":
          state.setChain(params[0].chainId);
          return null;
        case "eth_sendTransaction":
          if (!state.connected) throw fail(4100, "The requested account has not been authorized by the user.");
          if (state.rejectNext) {
            state.rejectNext = false;
            throw fail(4001, "User rejected the request.");
          }
          break;
        default:
          break;
      }
      const reply = JSON.parse(await window.__hvRpc(JSON.stringify({ method, params })));
      if (reply.error) throw fail(reply.error.code, reply.error.message, reply.error.data);
      return reply.result;
    },
  };
}
