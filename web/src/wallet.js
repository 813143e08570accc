// Paying from a resident's own wallet: the EIP-681 payment request a till shows (any wallet
// app that scans QR codes pays it), and a wallet in the browser (EIP-1193 `window.ethereum`,
// e.g. MetaMask) asked to send the same ERC-20 transfer, to add the Heitje token (EIP-747)
// and the municipality's network (EIP-3085). The transfer's data is written here (a few
// lines, no library): the function `transfer(address,uint256)`, its two arguments, and the
// receipt after them (the contract ignores it; the service reads it back from the chain).
import { get } from "./api.js";

let network = null;

/** The network and the token (GET /wallet/network), read once. */
export async function walletNetwork() {
  if (!network) network = await get("/wallet/network");
  return network;
}

const TRANSFER = "a9059cbb"; // the first 4 bytes of keccak256("transfer(address,uint256)")

function word(hex) {
  return hex.padStart(64, "0");
}

/** The receipt as the 32 bytes that follow the arguments (UTF-8, cut at 32 bytes). */
function receiptWord(receipt) {
  const bytes = new TextEncoder().encode(receipt || "").slice(0, 32);
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("").padEnd(64, "0");
}

/** The call data of `transfer(to, cents)`, with the receipt appended when there is one. */
export function transferData(to, cents, receipt) {
  const address = to.toLowerCase().replace(/^0x/, "");
  if (!/^[0-9a-f]{40}$/.test(address)) throw new Error(`not an address: ${to}`);
  const amount = BigInt(cents);
  if (amount <= 0n) throw new Error("the amount must be more than zero");
  const extra = receipt ? receiptWord(receipt) : "";
  return `0x${TRANSFER}${word(address)}${word(amount.toString(16))}${extra}`;
}

/** The EIP-681 payment request for `cents` to a shop's wallet: what a wallet app reads from
 *  the till's second QR code. */
export function paymentRequest(net, shopAddress, cents) {
  return `ethereum:${net.token}@${net.chain_id}/transfer?address=${shopAddress}&uint256=${BigInt(cents)}`;
}

export function hasWallet() {
  return Boolean(window.ethereum && typeof window.ethereum.request === "function");
}

/** A wallet's refusal in one word the page can say: "stopped" (the person said no in the
 *  wallet), "pending" (the wallet is already asking), or "failed". */
export function walletProblem(error) {
  const code = error && (error.code ?? (error.error && error.error.code));
  if (code === 4001) return "stopped";
  if (code === -32002) return "pending";
  return "failed";
}

/** Ask the wallet for its account (EIP-1102); the first, lowercased. */
export async function connectWallet() {
  const accounts = await window.ethereum.request({ method: "eth_requestAccounts" });
  if (!accounts || !accounts.length) throw { code: 4001 };
  return String(accounts[0]).toLowerCase();
}

/** Have the wallet sign a text (EIP-191 `personal_sign`, as Sign-In with Ethereum asks). */
export function signText(address, text) {
  const bytes = new TextEncoder().encode(text);
  const hex = `0x${Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("")}`;
  return window.ethereum.request({ method: "personal_sign", params: [hex, address] });
}

/** Add the municipality's network to the wallet (EIP-3085). */
export async function addNetwork(net) {
  await window.ethereum.request({
    method: "wallet_addEthereumChain",
    params: [{
      chainId: net.chain_id_hex,
      chainName: net.chain_name,
      rpcUrls: [net.rpc_url],
      nativeCurrency: { name: "Ether", symbol: "ETH", decimals: 18 },
    }],
  });
}

/** Add the Heitje token to the wallet's list (EIP-747); true when the wallet took it. */
export async function watchToken(net) {
  return Boolean(await window.ethereum.request({
    method: "wallet_watchAsset",
    params: { type: "ERC20", options: { address: net.token, symbol: net.symbol.slice(0, 11), decimals: net.decimals } },
  }));
}

/** Make sure the wallet is on the municipality's network: switch to it (EIP-3326), adding
 *  it first when the wallet does not know it (error 4902). */
async function onNetwork(net) {
  const current = await window.ethereum.request({ method: "eth_chainId" });
  if (BigInt(current) === BigInt(net.chain_id)) return;
  try {
    await window.ethereum.request({ method: "wallet_switchEthereumChain", params: [{ chainId: net.chain_id_hex }] });
  } catch (error) {
    if (error && error.code === 4902 && net.rpc_url) await addNetwork(net);
    else throw error;
  }
}

/** Send `cents` to the shop from the wallet; resolves with the transaction hash once the
 *  wallet sent it (not yet confirmed). */
export async function sendPayment(net, from, shopAddress, cents, receipt) {
  await onNetwork(net);
  return window.ethereum.request({
    method: "eth_sendTransaction",
    params: [{ from, to: net.token, data: transferData(shopAddress, cents, receipt), value: "0x0" }],
  });
}

/** Wait for the chain's word on a sent transaction: "confirmed", "refused" (it reverted:
 *  nothing moved) or "sent" (no answer within `seconds`: not confirmed yet). */
export async function outcome(txHash, seconds = 60) {
  const until = Date.now() + seconds * 1000;
  while (Date.now() < until) {
    const receipt = await window.ethereum.request({ method: "eth_getTransactionReceipt", params: [txHash] });
    if (receipt && receipt.blockNumber) return BigInt(receipt.status) === 1n ? "confirmed" : "refused";
    await new Promise((resolve) => setTimeout(resolve, 1000));
  }
  return "sent";
}
