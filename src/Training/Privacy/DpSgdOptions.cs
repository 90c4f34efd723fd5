using AllReduceNet.Privacy.Accounting;

namespace AllReduceNet.Training.Privacy;

/// <summary>The validated --dp options: the accounting settings and whether noise comes from the OS's secure generator.</summary>
/// <param name="Settings">--dp-clip, --dp-noise or --dp-epsilon, --dp-delta, --dp-budget.</param>
/// <param name="SecureRandom">--dp-secure-rng.</param>
internal sealed record DpSgdOptions(DifferentialPrivacySettings Settings, bool SecureRandom);
