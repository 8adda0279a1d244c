// The contract functions and events the SDK calls, as human-readable ABI fragments. Used only
// when the API does not serve the deployment's ABIs (GET /v1/deployment); a unit test checks
// every fragment against contracts/artifacts, so they cannot drift from the contracts.

import { parseAbi } from 'viem'

const LOCK = '(address sender, address receiver, uint8 asset, address token, uint256 amount, bytes32 hashlock, uint64 timelock)'

export const hashTimeLockAbi = parseAbi([
  'function lockEther(address receiver, bytes32 hashlock, uint64 timelock) payable returns (bytes32)',
  'function lockERC721(address token, uint256 tokenId, address receiver, bytes32 hashlock, uint64 timelock) returns (bytes32)',
  `function withdraw(${LOCK} lock, bytes32 preimage)`,
  `function refund(${LOCK} lock)`,
  `function statusOf(${LOCK} lock) view returns (uint8)`,
  'function claimWindow() view returns (uint64)',
  'event Locked(bytes32 indexed id, address indexed sender, address indexed receiver, uint8 asset, address token, uint256 amount, bytes32 hashlock, uint64 timelock)',
  'event Withdrawn(bytes32 indexed id, bytes32 preimage)',
])

export const espRegistryAbi = parseAbi([
  `function acknowledge(${LOCK} lock, bytes signature)`,
  `function submitFeedback(${LOCK} lock, bool positive)`,
])

const PROOF = '(bytes32 fingerprint, bytes32 detailHash, address esp, uint64 priorityBlock, uint64 commitBlock, uint64 revealBlock)'

export const registryAbi = parseAbi([
  'function commit(bytes32 commitment) payable',
  `function reveal((bytes32 contentHash, bytes32 fingerprint, bytes32 salt, bytes32 modelId, uint256 seed, string metadataURI) r, ${LOCK} lock, bytes detail, bytes attestation) returns (uint256)`,
  `function challenge(uint256 original, uint256 duplicate, ${PROOF} a, ${PROOF} b) payable`,
  'function contest(uint256 original, uint256 duplicate) payable',
  'function finalize(uint256 original, uint256 duplicate) returns (bool)',
  `function resolve(uint256 original, uint256 duplicate, ${PROOF} a, ${PROOF} b, bytes detailA, bytes detailB) returns (bool)`,
  'function approve(address to, uint256 tokenId)',
  'function attestationDigest(bytes32 taskId, address producer, bytes32 contentHash, bytes32 fingerprint, bytes32 detailHash, bytes32 modelId, uint256 seed) view returns (bytes32)',
  'function parameters() view returns ((uint256 bond, uint256 challengeDeposit, uint256 challengeReward, uint256 matchThreshold, uint64 commitTtl, uint64 registrationWindow, uint64 disputeWindow, uint64 rewardHoldBlocks, uint96 royaltyBps))',
  'function ownerOf(uint256 tokenId) view returns (address)',
  'function recordOf(uint256 tokenId) view returns ((bytes32 recordHash, address producer, uint8 status))',
  `function recordHashOf(${PROOF} p) pure returns (bytes32)`,
  'function royaltyInfo(uint256 tokenId, uint256 salePrice) view returns (address, uint256)',
  'function tokenURI(uint256 tokenId) view returns (string)',
])
