// The injected EIP-1193 wallet (MetaMask and the like): connect, account, network, events.
// Emits "change" whenever the account or the chain changes; the page re-reads everything then.
import { BrowserProvider, getAddress } from "ethers";

const CHAIN_NAMES = { 1: "Ethereum mainnet", 10: "OP Mainnet", 8453: "Base", 42161: "Arbitrum One", 11155111: "Sepolia", 31337: "a local Anvil chain" };

export function chainName(id) {
  const name = CHAIN_NAMES[Number(id)];
  return name ? `${name} (chain ${id})` : `chain ${id}`;
}

export class Wallet extends EventTarget {
  constructor(ethereum, expectedChainId) {
    super();
    this.ethereum = ethereum || null;
    this.expectedChainId = Number(expectedChainId);
    this.account = null;
    this.chainId = null;
    this._provider = null;
    if (this.ethereum?.on) {
      this.ethereum.on("accountsChanged", (accounts) => this._setAccounts(accounts));
      this.ethereum.on("chainChanged", (chainId) => this._setChain(chainId));
    }
  }

  get available() { return this.ethereum !== null; }
  get connected() { return this.account !== null; }
  get onRightChain() { return this.chainId === this.expectedChainId; }
  get ready() { return this.connected && this.onRightChain; }

  /** Ask the wallet for an account (it shows its own prompt). */
  async connect() {
    if (!this.available) throw new Error("no wallet");
    const accounts = await this.ethereum.request({ method: "eth_requestAccounts" });
    await this._readChain();
    this.account = accounts?.length ? getAddress(accounts[0]) : null;
    this._changed();
  }

  /** Pick up a connection the user already granted, without a prompt. */
  async restore() {
    if (!this.available) return;
    const accounts = await this.ethereum.request({ method: "eth_accounts" });
    if (accounts?.length) {
      await this._readChain();
      this.account = getAddress(accounts[0]);
      this._changed();
    }
  }

  async switchChain() {
    await this.ethereum.request({
      method: "wallet_switchEthereumChain",
      params: [{ chainId: "0x" + this.expectedChainId.toString(16) }],
    });
    await this._readChain();
    this._changed();
  }

  /** An ethers provider over the wallet; rebuilt after every account or chain change. */
  provider() {
    if (!this._provider) {
      this._provider = new BrowserProvider(this.ethereum, this.chainId ?? undefined);
      this._provider.pollingInterval = 1000;
    }
    return this._provider;
  }

  async signer() {
    return this.provider().getSigner(this.account);
  }

  async _readChain() {
    this.chainId = Number(BigInt(await this.ethereum.request({ method: "eth_chainId" })));
  }

  async _setAccounts(accounts) {
    const next = accounts?.length ? getAddress(accounts[0]) : null;
    if (next === this.account) return;
    if (next && this.chainId === null) await this._readChain().catch(() => {});
    this.account = next;
    this._changed();
  }

  _setChain(chainId) {
    this.chainId = Number(BigInt(chainId));
    this._changed();
  }

  _changed() {
    this._provider = null;
    this.dispatchEvent(new Event("change"));
  }
}
