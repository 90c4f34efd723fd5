using AllReduceNet.Privacy.Accounting;

namespace AllReduceNet.Training.Privacy;

/// <summary>
/// Example-level DP-SGD as resolved before the ranks start: the clip C, the noise multiplier σ (given, or computed
/// for the planned steps from --dp-epsilon), Poisson sampling with q = B / N for N / B steps an epoch, the data set's
/// ledger key, the run id (kept across --resume) and the accountant's history restored from the checkpoint.
/// </summary>
/// <param name="ClipNorm">C, the per-example L2 clip.</param>
/// <param name="NoiseMultiplier">σ: the noise on the summed clipped gradients has std σC.</param>
/// <param name="Delta">δ of every reported ε.</param>
/// <param name="BudgetEpsilon">--dp-budget, or null.</param>
/// <param name="SecureRandom">--dp-secure-rng: noise from <see cref="System.Security.Cryptography.RandomNumberGenerator"/>.</param>
/// <param name="ExpectedBatch">B: the expected batch, and what each step's sum is divided by (as Opacus does).</param>
/// <param name="SamplingRate">q = B / N.</param>
/// <param name="StepsPerEpoch">N / B (integer division).</param>
/// <param name="DatasetId">The ledger's key for the training data (<see cref="DatasetIdentity"/>).</param>
/// <param name="RunId">This run's id in the ledger, from the checkpoint when resuming.</param>
/// <param name="LedgerPath">privacy-ledger.jsonl next to the checkpoint.</param>
/// <param name="Resumed">The accountant's state from the resumed checkpoint, or null for a fresh run.</param>
internal sealed record DpSgdPlan(double ClipNorm, double NoiseMultiplier, double Delta, double? BudgetEpsilon, bool SecureRandom,
    int ExpectedBatch, double SamplingRate, int StepsPerEpoch, string DatasetId, string RunId, string LedgerPath, AccountantState? Resumed)
{
    /// <summary>The file name of the ledger, in the checkpoint's directory.</summary>
    public const string LedgerFileName = "privacy-ledger.jsonl";

    /// <summary>The mechanism of one step.</summary>
    public GaussianRelease Release => new(SamplingRate, NoiseMultiplier);

    /// <summary>The line Train prints at the start.</summary>
    public string Describe() => string.Create(System.Globalization.CultureInfo.InvariantCulture,
        $"dp-sgd: per-example clip C={ClipNorm}, noise multiplier sigma={NoiseMultiplier:G6} (std sigma*C on the global sum, split over the ranks), Poisson sampling q={SamplingRate:G4} (expected batch {ExpectedBatch}, {StepsPerEpoch} steps/epoch), delta={Delta}, noise from {(SecureRandom ? "the OS secure generator" : "Philox keyed from the OS secure generator")}; data set {DatasetId}, run {RunId}, ledger {LedgerPath}{(BudgetEpsilon is double b ? $", budget epsilon {b}" : "")}");
}
