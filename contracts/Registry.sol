// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {ERC721} from "@openzeppelin/contracts/token/ERC721/ERC721.sol";
import {ERC2981} from "@openzeppelin/contracts/token/common/ERC2981.sol";
import {EIP712} from "@openzeppelin/contracts/utils/cryptography/EIP712.sol";
import {ECDSA} from "@openzeppelin/contracts/utils/cryptography/ECDSA.sol";
import {Strings} from "@openzeppelin/contracts/utils/Strings.sol";
import {ReentrancyGuardTransient} from "@openzeppelin/contracts/utils/ReentrancyGuardTransient.sol";

import {IRegistry} from "./interfaces/IRegistry.sol";
import {IEspRegistry} from "./interfaces/IEspRegistry.sol";
import {FingerprintRule} from "./FingerprintRule.sol";

/// @title Registry (Proof-of-AIGC)
/// @notice See {IRegistry} for the protocol. Invariants: Ether held == bond x (tokens whose bond
/// is held); challenge deposits never stay (each challenge settles in its own transaction); one
/// token per content hash, ever; a revoked token never becomes active again.
contract Registry is IRegistry, ERC721, ERC2981, EIP712, ReentrancyGuardTransient {
    /// @notice Deployment parameters (a struct keeps the constructor readable).
    struct Config {
        IEspRegistry espRegistry;
        address escrow;
        uint256 bond;
        uint256 challengeDeposit;
        uint256 matchThreshold;
        uint64 commitTtl;
        uint64 bondLockBlocks;
        uint96 royaltyBps;
        string baseURI;
    }

    bytes32 public constant ATTESTATION_TYPEHASH = keccak256(
        "Attestation(bytes32 taskId,address producer,bytes32 contentHash,bytes32 fingerprint,bytes32 modelId,uint256 seed)"
    );

    IEspRegistry private immutable _espRegistry;
    address private immutable _escrow;
    uint256 private immutable _bond;
    uint256 private immutable _challengeDeposit;
    uint256 private immutable _matchThreshold;
    uint64 private immutable _commitTtl;
    uint64 private immutable _bondLockBlocks;
    uint96 private immutable _royaltyBps;
    string private _baseTokenURI;

    /// @dev What is stored per token: two slots. The producer is not stored at mint: it is the
    /// owner until the token first leaves it, and `_update` saves it to `_producers` then. This
    /// keeps registration (every image) one storage slot cheaper and charges the first resale.
    struct Stored {
        bytes32 fingerprint;
        address esp;
        uint64 registeredBlock;
        Status status;
        bool bondHeld;
    }

    mapping(bytes32 commitment => uint64 blockNumber) private _commits;
    mapping(uint256 tokenId => Stored) private _records;
    mapping(uint256 tokenId => address) private _producers;
    mapping(uint256 tokenId => string) private _uris;

    constructor(Config memory c) ERC721("Proof-of-AIGC", "AIGC") EIP712("AIGC Registry", "1") {
        _espRegistry = c.espRegistry;
        _escrow = c.escrow;
        _bond = c.bond;
        _challengeDeposit = c.challengeDeposit;
        _matchThreshold = c.matchThreshold;
        _commitTtl = c.commitTtl;
        _bondLockBlocks = c.bondLockBlocks;
        _royaltyBps = c.royaltyBps;
        _baseTokenURI = c.baseURI;
    }

    /// @inheritdoc IRegistry
    function commit(bytes32 commitment) external {
        if (_commits[commitment] != 0) revert RegistryCommitExists(commitment);
        _commits[commitment] = uint64(block.number);
        emit Committed(commitment, msg.sender, uint64(block.number));
    }

    /// @inheritdoc IRegistry
    function reveal(Registration calldata r, bytes calldata attestation)
        external
        payable
        nonReentrant
        returns (uint256 tokenId)
    {
        if (r.owner == address(0) || r.contentHash == bytes32(0)) revert RegistryInvalidRegistration();
        bytes32 c = keccak256(abi.encode(r.contentHash, r.fingerprint, r.owner, r.salt));
        uint64 at = _commits[c];
        if (at == 0) revert RegistryUnknownCommit(c);
        if (block.number <= at) revert RegistryRevealTooEarly(c, at);
        if (block.number > at + _commitTtl) revert RegistryCommitExpired(c, at + _commitTtl);
        if (msg.value != _bond) revert RegistryWrongValue(msg.value, _bond);
        tokenId = uint256(r.contentHash);
        if (_records[tokenId].status != Status.None) revert RegistryDuplicateContent(tokenId);
        if (FingerprintRule.isDegenerate(r.fingerprint)) revert RegistryDegenerateFingerprint(r.fingerprint);
        if (!_espRegistry.isActive(r.esp)) revert RegistryEspNotRegistered(r.esp);
        _checkAttestation(r, attestation);

        delete _commits[c];
        _records[tokenId] = Stored({
            fingerprint: r.fingerprint,
            esp: r.esp,
            registeredBlock: at, // priority is the commit's block: a copier who saw the reveal commits later
            status: Status.Active,
            bondHeld: _bond != 0
        });
        if (bytes(r.metadataURI).length != 0) _uris[tokenId] = r.metadataURI;
        _mint(r.owner, tokenId);
        emit Registered(tokenId, r.owner, r.esp, r.fingerprint, r.taskId, r.modelId, r.seed, r.metadataURI);
    }

    /// @inheritdoc IRegistry
    function challenge(uint256 original, uint256 duplicate) external payable nonReentrant returns (bool upheld) {
        if (msg.value != _challengeDeposit) revert RegistryWrongValue(msg.value, _challengeDeposit);
        if (original == duplicate) revert RegistrySelfChallenge(original);
        Stored storage a = _activeRecord(original);
        Stored storage b = _activeRecord(duplicate);
        if (_ownerOf(original) != msg.sender) revert RegistryNotOwner(original, msg.sender);
        if (a.registeredBlock >= b.registeredBlock) revert RegistryChallengeOutOfOrder(original, duplicate);

        uint256 d = FingerprintRule.distance(a.fingerprint, b.fingerprint);
        upheld = d <= _matchThreshold;
        emit Challenged(original, duplicate, msg.sender, upheld, d);
        if (upheld) {
            uint256 reward = b.bondHeld ? _bond : 0;
            b.status = Status.Revoked;
            b.bondHeld = false;
            emit Revoked(duplicate, original);
            _espRegistry.recordChallengeUpheld(b.esp);
            _send(msg.sender, msg.value + reward);
        } else {
            address payee = _ownerOf(duplicate);
            if (payee == _escrow) payee = _producerOf(duplicate); // the escrow takes no Ether
            _send(payee, msg.value);
        }
    }

    /// @inheritdoc IRegistry
    function releaseBond(uint256 tokenId) external nonReentrant {
        Stored storage rec = _activeRecord(tokenId);
        uint64 releasableAt = rec.registeredBlock + _bondLockBlocks;
        if (!rec.bondHeld || block.number < releasableAt) revert RegistryBondLocked(tokenId, releasableAt);
        rec.bondHeld = false;
        address producer = _producerOf(tokenId);
        emit BondReleased(tokenId, producer, _bond);
        _send(producer, _bond);
    }

    /// @inheritdoc IRegistry
    function recordOf(uint256 tokenId) external view returns (Record memory) {
        Stored storage s = _records[tokenId];
        return Record(s.fingerprint, _producerOf(tokenId), s.registeredBlock, s.status, s.bondHeld, s.esp);
    }

    /// @inheritdoc IRegistry
    function commitBlock(bytes32 commitment) external view returns (uint64) {
        return _commits[commitment];
    }

    /// @inheritdoc IRegistry
    function commitmentFor(bytes32 contentHash, bytes32 fingerprint, address owner, bytes32 salt)
        external
        pure
        returns (bytes32)
    {
        return keccak256(abi.encode(contentHash, fingerprint, owner, salt));
    }

    /// @inheritdoc IRegistry
    function attestationDigest(
        bytes32 taskId,
        address producer,
        bytes32 contentHash,
        bytes32 fingerprint,
        bytes32 modelId,
        uint256 seed
    ) public view returns (bytes32) {
        return _hashTypedDataV4(
            keccak256(abi.encode(ATTESTATION_TYPEHASH, taskId, producer, contentHash, fingerprint, modelId, seed))
        );
    }

    /// @inheritdoc IRegistry
    function fingerprintDistance(bytes32 a, bytes32 b) external pure returns (uint256) {
        return FingerprintRule.distance(a, b);
    }

    /// @inheritdoc IRegistry
    function fingerprintsMatch(bytes32 a, bytes32 b) external view returns (bool) {
        return FingerprintRule.matches(a, b, _matchThreshold);
    }

    /// @inheritdoc IRegistry
    function isDegenerateFingerprint(bytes32 fp) external pure returns (bool) {
        return FingerprintRule.isDegenerate(fp);
    }

    /// @inheritdoc IRegistry
    function parameters() external view returns (uint256, uint256, uint256, uint64, uint64, uint96) {
        return (_bond, _challengeDeposit, _matchThreshold, _commitTtl, _bondLockBlocks, _royaltyBps);
    }

    /// @notice The ESP registry that vouches for attesting ESPs.
    function espRegistry() external view returns (IEspRegistry) {
        return _espRegistry;
    }

    /// @notice ERC-2981: the original producer earns `royaltyBps` of every sale price.
    function royaltyInfo(uint256 tokenId, uint256 salePrice) public view override returns (address, uint256) {
        return (_producerOf(tokenId), (salePrice * _royaltyBps) / 10_000);
    }

    /// @notice The metadata URI given at registration, else `baseURI` + token id (decimal).
    function tokenURI(uint256 tokenId) public view override returns (string memory) {
        _requireOwned(tokenId);
        string memory own = _uris[tokenId];
        if (bytes(own).length != 0) return own;
        return string.concat(_baseTokenURI, Strings.toString(tokenId));
    }

    function supportsInterface(bytes4 interfaceId) public view override(ERC721, ERC2981) returns (bool) {
        return super.supportsInterface(interfaceId);
    }

    /// @dev Revoked tokens stay where they are, except that the hash-time-lock escrow may release
    /// them (withdraw or refund), so no lock is ever stuck on a revoked token.
    function _update(address to, uint256 tokenId, address auth) internal override returns (address) {
        address from = _ownerOf(tokenId);
        if (_records[tokenId].status == Status.Revoked && from != _escrow) revert RegistryTokenRevoked(tokenId);
        if (from != address(0) && _producers[tokenId] == address(0)) _producers[tokenId] = from; // first move
        return super._update(to, tokenId, auth);
    }

    function _checkAttestation(Registration calldata r, bytes calldata signature) private view {
        bytes32 digest = attestationDigest(r.taskId, r.owner, r.contentHash, r.fingerprint, r.modelId, r.seed);
        (address recovered, ECDSA.RecoverError err,) = ECDSA.tryRecover(digest, signature);
        if (err != ECDSA.RecoverError.NoError || recovered != r.esp) {
            revert RegistryInvalidAttestation(r.esp, recovered);
        }
    }

    /// @dev The original producer: saved on the token's first move, the owner until then.
    function _producerOf(uint256 tokenId) private view returns (address) {
        address saved = _producers[tokenId];
        return saved != address(0) ? saved : _ownerOf(tokenId);
    }

    function _activeRecord(uint256 tokenId) private view returns (Stored storage rec) {
        rec = _records[tokenId];
        if (rec.status == Status.None) revert RegistryUnknownToken(tokenId);
        if (rec.status == Status.Revoked) revert RegistryTokenRevoked(tokenId);
    }

    function _send(address to, uint256 amount) private {
        if (amount == 0) return;
        (bool ok,) = to.call{value: amount}("");
        if (!ok) revert RegistryTransferFailed(to, amount);
    }
}
