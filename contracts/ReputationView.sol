// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {IEspRegistry} from "./interfaces/IEspRegistry.sol";
import {EvidenceLib} from "./EvidenceLib.sol";

/// @title ReputationView: MWSL reputation computed on chain from EspRegistry's evidence.
/// @notice Anyone can check a ranking without trusting the marketplace. For producer i and ESP j
/// at time `nowTs` (all values 1e18 fixed point):
///
/// 1. Each producer x with evidence about j holds the opinion (b, d, u) = (r, s, W) / (r + s + W)
///    with r = its decayed positive weight, s = NEGATIVE_WEIGHT * its decayed negative weight.
/// 2. Local opinion: i's own (vacuous (0, 0, 1) without evidence).
/// 3. Recommended opinion: the average of every other producer's opinion weighted by
///    familiarity (r_x + n_x, its decayed interaction weight with j) times timeliness
///    (DECAY ** periods since its last interaction with j); vacuous if there is none.
/// 4. Combined: the subjective-logic consensus of local and recommended; reputation
///    T = b + BASE_RATE * u. A newcomer ESP has T = BASE_RATE.
///
/// It reads `producersOf(esp)` and one `evidence` per producer: cost grows linearly with the
/// ESP's producers (about 10k gas each), which is fine for `eth_call` up to thousands of them.
/// The off-chain engine (`services.reputation`) computes the same value within 1e-6 (tested).
contract ReputationView {
    /// @notice A binomial opinion, components 1e18-scaled and summing to 1e18.
    struct Opinion {
        uint256 belief;
        uint256 disbelief;
        uint256 uncertainty;
    }

    /// @notice `nowTs` is before the last update of evidence the computation needs.
    error ReputationTimeBeforeEvidence(address producer, address esp, uint64 updatedAt, uint64 nowTs);

    uint256 private constant ONE = 1e18;
    /// @notice Interaction effect: a negative interaction weighs this many positive ones (2).
    uint256 public constant NEGATIVE_WEIGHT = 2e18;
    /// @notice The non-informative prior weight W of subjective logic (2).
    uint256 public constant PRIOR_WEIGHT = 2e18;
    /// @notice The base rate a of T = b + a * u (0.5).
    uint256 public constant BASE_RATE = 0.5e18;

    IEspRegistry private immutable _registry;

    constructor(IEspRegistry registry_) {
        _registry = registry_;
    }

    /// @notice The EspRegistry whose evidence this view reads.
    function registry() external view returns (IEspRegistry) {
        return _registry;
    }

    /// @notice Every model constant (1e18-scaled except `period`, in seconds), for off-chain checks.
    function parameters()
        external
        pure
        returns (
            uint256 decay,
            uint64 period,
            uint256 valueReference,
            uint256 negativeWeight,
            uint256 priorWeight,
            uint256 baseRate
        )
    {
        return (
            EvidenceLib.DECAY,
            EvidenceLib.PERIOD,
            EvidenceLib.VALUE_REFERENCE,
            NEGATIVE_WEIGHT,
            PRIOR_WEIGHT,
            BASE_RATE
        );
    }

    /// @notice Reputation of `esp` from `producer`'s view now (1e18 = 1).
    function reputation(address producer, address esp) external view returns (uint256) {
        return _expected(combinedOpinion(producer, esp, uint64(block.timestamp)));
    }

    /// @notice Reputation of `esp` from `producer`'s view at `nowTs` (not before any evidence).
    function reputationAt(address producer, address esp, uint64 nowTs) external view returns (uint256) {
        return _expected(combinedOpinion(producer, esp, nowTs));
    }

    /// @notice `producer`'s own opinion about `esp` at `nowTs`.
    function localOpinion(address producer, address esp, uint64 nowTs) public view returns (Opinion memory) {
        (uint256 p, uint256 n,) = _decayed(producer, esp, nowTs);
        return _fromEvidence(p, n);
    }

    /// @notice The familiarity- and timeliness-weighted average of the other producers' opinions.
    function recommendedOpinion(address producer, address esp, uint64 nowTs)
        public
        view
        returns (Opinion memory)
    {
        address[] memory producers = _registry.producersOf(esp);
        uint256 sumB;
        uint256 sumD;
        uint256 sumU;
        uint256 total;
        for (uint256 i = 0; i < producers.length; ++i) {
            if (producers[i] == producer) continue;
            (uint256 p, uint256 n, uint256 t) = _decayed(producers[i], esp, nowTs);
            // p + n < 2^97 and t <= 1e18 < 2^60, so w < 2^157 and each w * component < 2^217:
            // the sums cannot overflow below 2^39 producers.
            uint256 w = (p + n) * t;
            if (w == 0) continue;
            Opinion memory o = _fromEvidence(p, n);
            sumB += w * o.belief;
            sumD += w * o.disbelief;
            sumU += w * o.uncertainty;
            total += w;
        }
        if (total == 0) return Opinion(0, 0, ONE);
        uint256 b = sumB / total;
        uint256 d = sumD / total;
        return Opinion(b, d, ONE - b - d);
    }

    /// @notice The consensus of the local and the recommended opinion about `esp`.
    function combinedOpinion(address producer, address esp, uint64 nowTs) public view returns (Opinion memory) {
        return _consensus(localOpinion(producer, esp, nowTs), recommendedOpinion(producer, esp, nowTs));
    }

    function _decayed(address producer, address esp, uint64 nowTs)
        private
        view
        returns (uint256 positive, uint256 negative, uint256 timeliness)
    {
        EvidenceLib.Evidence memory e = _registry.evidence(producer, esp);
        if (nowTs < e.updatedAt) revert ReputationTimeBeforeEvidence(producer, esp, e.updatedAt, nowTs);
        return EvidenceLib.decayed(e, nowTs);
    }

    function _fromEvidence(uint256 positive, uint256 negative) private pure returns (Opinion memory o) {
        uint256 s = (negative * NEGATIVE_WEIGHT) / ONE;
        uint256 denom = positive + s + PRIOR_WEIGHT;
        o.belief = (positive * ONE) / denom;
        o.disbelief = (s * ONE) / denom;
        o.uncertainty = ONE - o.belief - o.disbelief;
    }

    /// @dev k = u1 + u2 - u1 u2 > 0 because every opinion here has u >= W / (r + s + W) > 0.
    function _consensus(Opinion memory x, Opinion memory y) private pure returns (Opinion memory o) {
        uint256 k = x.uncertainty + y.uncertainty - (x.uncertainty * y.uncertainty) / ONE;
        o.belief = (x.belief * y.uncertainty + y.belief * x.uncertainty) / k;
        o.disbelief = (x.disbelief * y.uncertainty + y.disbelief * x.uncertainty) / k;
        o.uncertainty = ONE - o.belief - o.disbelief;
    }

    function _expected(Opinion memory o) private pure returns (uint256) {
        return o.belief + (BASE_RATE * o.uncertainty) / ONE;
    }
}
