// Wallet connection through EIP-1193 (window.ethereum): accounts, network, Sign-In with Ethereum
// (EIP-4361, the API's nonce, domain, URI and chain id) and sending the API's unsigned
// transactions. The page never sees a key; the bearer token lives in memory only.
import { toChecksumAddress } from "./keccak.js";

/** A wallet error turned into words a person can act on. */
export class WalletError extends Error {
  constructor(code, message) {
    super(message);
    this.code = code;
  }
}

const state = { address: null, token: null, expiresAt: 0, chainId: null, marketChainId: null };

export const session = () => ({ ...state });

function provider() {
  const eth = globalThis.ethereum;
  if (!eth || typeof eth.request !== "function") {
    throw new WalletError("no_wallet", "No Ethereum wallet found in this browser: install one (for example MetaMask) and reload.");
  }
  return eth;
}

function explain(err) {
  if (err instanceof WalletError) return err;
  const code = err && typeof err === "object" ? err.code : undefined;
  if (code === 4001) return new WalletError("rejected", "You rejected the request in your wallet; nothing was signed or sent.");
  if (code === 4100) return new WalletError("unauthorized", "Your wallet has not authorised this site: connect it first.");
  if (code === 4902) return new WalletError("unknown_chain", "Your wallet does not know the marketplace's network: add it in the wallet first.");
  if (code === -32002) return new WalletError("pending", "Your wallet already has a request waiting: open the wallet to answer it.");
  const message = err && err.message ? err.message : String(err);
  return new WalletError("wallet_error", `The wallet refused: ${message}`);
}

async function request(method, params) {
  try {
    return await provider().request(params === undefined ? { method } : { method, params });
  } catch (err) {
    throw explain(err);
  }
}

async function apiJson(path, init) {
  const res = await fetch(path, init);
  const body = await res.json().catch(() => null);
  if (!res.ok) {
    const e = body && body.error ? body.error : {};
    throw new WalletError(e.code || `http_${res.status}`, e.message || `Request failed (${res.status})`);
  }
  return body;
}

/** Checks the wallet is on `chainId`; offers the switch when it is not. */
export async function checkNetwork(chainId) {
  const current = Number.parseInt(await request("eth_chainId"), 16);
  state.chainId = current;
  if (current !== chainId) {
    throw new WalletError("wrong_network", `Your wallet is on network ${current}; the marketplace runs on network ${chainId}. Switch networks in your wallet.`);
  }
}

/**
 * Checks the wallet is on the marketplace's network (the API's deployment, read by the page
 * itself) before the SDK reads the chain through the wallet: a wallet on another network is
 * `wrong_network`, with the switch to offer, rather than the SDK's `wrong_chain`.
 */
export async function checkMarketNetwork() {
  const dep = await apiJson("/v1/deployment");
  await checkNetwork(Number(dep.chain_id));
}

export async function switchNetwork(chainId) {
  await request("wallet_switchEthereumChain", [{ chainId: `0x${chainId.toString(16)}` }]);
}

function siweMessage({ domain, uri, address, chainId, nonce, issuedAt }) {
  // EIP-4361 with a statement; every field the API checks.
  return `${domain} wants you to sign in with your Ethereum account:\n${address}\n\n`
    + "Sign in to the AIGC marketplace.\n\n"
    + `URI: ${uri}\nVersion: 1\nChain ID: ${chainId}\nNonce: ${nonce}\nIssued At: ${issuedAt}`;
}

function toHex(text) {
  return "0x" + Array.from(new TextEncoder().encode(text), (b) => b.toString(16).padStart(2, "0")).join("");
}

/** Connects, checks the network, and signs in; returns the address. */
export async function signIn() {
  const accounts = await request("eth_requestAccounts");
  if (!accounts || accounts.length === 0) throw new WalletError("no_account", "Your wallet shared no account.");
  const nonce = await apiJson("/v1/auth/nonce", { method: "POST" });
  await checkNetwork(nonce.chain_id);
  const address = toChecksumAddress(accounts[0]);
  const message = siweMessage({
    domain: nonce.domain,
    uri: nonce.uri,
    address,
    chainId: nonce.chain_id,
    nonce: nonce.nonce,
    issuedAt: new Date().toISOString().replace(/\.\d{3}Z$/, "Z"),
  });
  const signature = await request("personal_sign", [toHex(message), address]);
  const token = await apiJson("/v1/auth/verify", {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ message, signature }),
  });
  Object.assign(state, { address: token.address, token: token.token, expiresAt: token.expires_at, marketChainId: nonce.chain_id });
  return token.address;
}

/**
 * Follows the wallet's account and network (EIP-1193 `accountsChanged`, `chainChanged`): a
 * switch to another account signs the page out (its session is the old account's, and what it
 * would go on to sign would not be the signed-in user's), a switch to another network is said at
 * once. `onChange(problem)` hears of each: a WalletError (`account_changed`, `wrong_network`), or
 * null when the wallet came back to the marketplace's network.
 */
export function watchWallet(onChange) {
  const eth = globalThis.ethereum;
  if (!eth || typeof eth.on !== "function") return;
  eth.on("accountsChanged", (accounts) => {
    const now = Array.isArray(accounts) && accounts.length ? String(accounts[0]).toLowerCase() : null;
    if (!state.address || now === state.address.toLowerCase()) return;
    signOut();
    onChange(new WalletError("account_changed", now
      ? "Your wallet switched to another account: you are signed out, and nothing more is signed for the previous one. Connect again to continue with the new account."
      : "Your wallet disconnected this site: you are signed out."));
  });
  eth.on("chainChanged", (chainId) => {
    const id = Number.parseInt(String(chainId), 16);
    state.chainId = id;
    if (!state.address || state.marketChainId === null) return;
    onChange(id === state.marketChainId ? null : new WalletError("wrong_network",
      `Your wallet is on network ${id}; the marketplace runs on network ${state.marketChainId}. Switch networks in your wallet.`));
  });
}

export function signOut() {
  Object.assign(state, { address: null, token: null, expiresAt: 0, marketChainId: null });
}

export function authHeaders() {
  if (!state.token) throw new WalletError("signed_out", "Sign in with your wallet first.");
  return { authorization: `Bearer ${state.token}` };
}

// No transaction the API builds is sent from here: the page sends every one through the SDK's
// checked actions (studio.js sdkClient), which check it against what the person asked for before
// the wallet signs (sendPrepared, which signed the API's answer as it came, is gone).
