// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

/// @title IRegistry: Proof-of-AIGC, each registered image an ERC-721 token.
/// @notice Protocol:
/// 1. `commit(keccak256(abi.encode(contentHash, fingerprint, owner, salt)))`;
/// 2. at least one block later and within `commitTtl` blocks, `reveal(...)` with the registration
///    bond and an EIP-712 attestation signed by a registered ESP over
///    `Attestation(taskId, producer, contentHash, fingerprint, modelId, seed)`; the token id is
///    `uint256(contentHash)`, so an exact duplicate is refused in O(1);
/// 3. the owner of an earlier token A (committed in an earlier block: a copier who read A's
///    fingerprint from its pending reveal commits later) may `challenge(A, B)` with a deposit: if B's fingerprint is
///    within the threshold of A's, B is revoked, the deposit comes back with B's bond as reward and
///    B's ESP is reported to the ESP registry; otherwise the deposit goes to B's owner.
/// Revoked tokens cannot be transferred (except out of the hash-time-lock escrow, so an escrowed
/// token is never stuck), listed, or used to challenge.
interface IRegistry {
    /// @notice A registration's status.
    enum Status {
        None,
        Active,
        Revoked
    }

    /// @notice What the chain stores per token (the content hash is the token id).
    struct Record {
        bytes32 fingerprint;
        address producer;
        uint64 registeredBlock; // the block of the commitment: what challenge priority compares
        Status status;
        bool bondHeld;
        address esp;
    }

    /// @notice The reveal's public data.
    struct Registration {
        bytes32 contentHash;
        bytes32 fingerprint;
        address owner;
        bytes32 salt;
        address esp;
        bytes32 taskId;
        bytes32 modelId;
        uint256 seed;
        string metadataURI;
    }

    /// @notice Emitted when a commitment is recorded.
    event Committed(bytes32 indexed commitment, address indexed committer, uint64 blockNumber);
    /// @notice Emitted when an image is registered (and its token minted to `producer`).
    event Registered(
        uint256 indexed tokenId,
        address indexed producer,
        address indexed esp,
        bytes32 fingerprint,
        bytes32 taskId,
        bytes32 modelId,
        uint256 seed,
        string metadataURI
    );
    /// @notice Emitted when a challenge is decided in one transaction.
    event Challenged(
        uint256 indexed original, uint256 indexed duplicate, address indexed challenger, bool upheld, uint256 distance
    );
    /// @notice Emitted when a token is revoked.
    event Revoked(uint256 indexed tokenId, uint256 indexed original);
    /// @notice Emitted when a producer takes back a registration bond.
    event BondReleased(uint256 indexed tokenId, address indexed producer, uint256 amount);

    /// @notice The commitment was already made.
    error RegistryCommitExists(bytes32 commitment);
    /// @notice No such commitment (never made, already revealed, or wrong fields/salt).
    error RegistryUnknownCommit(bytes32 commitment);
    /// @notice Reveal in the commit's own block.
    error RegistryRevealTooEarly(bytes32 commitment, uint64 committedBlock);
    /// @notice Reveal after the commitment expired.
    error RegistryCommitExpired(bytes32 commitment, uint64 expiredAtBlock);
    /// @notice Wrong bond or deposit.
    error RegistryWrongValue(uint256 sent, uint256 required);
    /// @notice The same content is already registered.
    error RegistryDuplicateContent(uint256 tokenId);
    /// @notice The fingerprint is degenerate (a flat or blank image).
    error RegistryDegenerateFingerprint(bytes32 fingerprint);
    /// @notice The ESP is not an active registered ESP.
    error RegistryEspNotRegistered(address esp);
    /// @notice The attestation was not signed by the named ESP (wrong signer, chain or contract).
    error RegistryInvalidAttestation(address esp, address recovered);
    /// @notice The owner is the zero address or the content hash is zero.
    error RegistryInvalidRegistration();
    /// @notice The token does not exist.
    error RegistryUnknownToken(uint256 tokenId);
    /// @notice The token is revoked.
    error RegistryTokenRevoked(uint256 tokenId);
    /// @notice Only the owner of the original may challenge with it.
    error RegistryNotOwner(uint256 tokenId, address caller);
    /// @notice The original was not registered strictly before the duplicate.
    error RegistryChallengeOutOfOrder(uint256 original, uint256 duplicate);
    /// @notice A token cannot challenge itself.
    error RegistrySelfChallenge(uint256 tokenId);
    /// @notice The bond cannot be released yet, or is gone.
    error RegistryBondLocked(uint256 tokenId, uint64 releasableAtBlock);
    /// @notice An Ether payment failed.
    error RegistryTransferFailed(address to, uint256 amount);

    /// @notice Records a commitment to a registration.
    function commit(bytes32 commitment) external;
    /// @notice Reveals a committed registration with its ESP attestation; mints token `uint256(contentHash)`.
    function reveal(Registration calldata r, bytes calldata attestation) external payable returns (uint256 tokenId);
    /// @notice Challenges `duplicate` with `original` (caller owns `original`); decided on the spot.
    function challenge(uint256 original, uint256 duplicate) external payable returns (bool upheld);
    /// @notice Returns the bond of `tokenId` to its producer once `bondLockBlocks` have passed.
    function releaseBond(uint256 tokenId) external;

    /// @notice The stored record of `tokenId`.
    function recordOf(uint256 tokenId) external view returns (Record memory);
    /// @notice The block a commitment was made in (0 if none).
    function commitBlock(bytes32 commitment) external view returns (uint64);
    /// @notice The commitment for these fields.
    function commitmentFor(bytes32 contentHash, bytes32 fingerprint, address owner, bytes32 salt)
        external
        pure
        returns (bytes32);
    /// @notice The EIP-712 digest an ESP signs for an attestation.
    function attestationDigest(
        bytes32 taskId,
        address producer,
        bytes32 contentHash,
        bytes32 fingerprint,
        bytes32 modelId,
        uint256 seed
    ) external view returns (bytes32);
    /// @notice The near-duplicate distance of two fingerprints (see FingerprintRule).
    function fingerprintDistance(bytes32 a, bytes32 b) external pure returns (uint256);
    /// @notice Whether two fingerprints are near-duplicates under the deployed threshold.
    function fingerprintsMatch(bytes32 a, bytes32 b) external view returns (bool);
    /// @notice Whether a fingerprint is degenerate (refused at registration).
    function isDegenerateFingerprint(bytes32 fp) external pure returns (bool);
    /// @notice The deployment parameters.
    function parameters()
        external
        view
        returns (
            uint256 bond,
            uint256 challengeDeposit,
            uint256 matchThreshold,
            uint64 commitTtl,
            uint64 bondLockBlocks,
            uint96 royaltyBps
        );
}
