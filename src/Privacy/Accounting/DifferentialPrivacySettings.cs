namespace AllReduceNet.Privacy.Accounting;

/// <summary>
/// The DP-SGD settings of a training run as the command line gives them (--dp-clip, --dp-noise or --dp-epsilon,
/// --dp-delta, --dp-budget), checked before training starts. Train builds one, calls <see cref="Validate"/>, then
/// <see cref="ResolveNoiseMultiplier"/> for the planned steps, then the ledger's budget check.
/// </summary>
/// <param name="ClipNorm">Per-example L2 clipping norm C &gt; 0.</param>
/// <param name="NoiseMultiplier">σ, or null when <paramref name="TargetEpsilon"/> asks for σ to be computed.</param>
/// <param name="TargetEpsilon">ε to reach at the end of the planned steps, or null when σ is given.</param>
/// <param name="Delta">δ in (0, 1).</param>
/// <param name="BudgetEpsilon">The data set's ε budget across all runs, or null for no budget.</param>
public sealed record DifferentialPrivacySettings(double ClipNorm, double? NoiseMultiplier, double? TargetEpsilon, double Delta, double? BudgetEpsilon)
{
    /// <summary>Refuses a NaN, zero or negative clip, both or neither of σ and ε, ε ≤ 0, δ outside (0, 1), a budget ≤ 0.</summary>
    public void Validate()
    {
        if (!(ClipNorm > 0) || double.IsPositiveInfinity(ClipNorm))
            throw new PrivacyException($"--dp-clip must be a finite number > 0; got {PrivacyArguments.Format(ClipNorm)}");
        if (NoiseMultiplier is null == TargetEpsilon is null)
            throw new PrivacyException("give exactly one of --dp-noise SIGMA and --dp-epsilon EPS");
        if (NoiseMultiplier is double sigma) PrivacyArguments.RequireNoiseMultiplier(sigma, "--dp-noise");
        if (TargetEpsilon is double epsilon) PrivacyArguments.RequireEpsilon(epsilon, "--dp-epsilon");
        PrivacyArguments.RequireDelta(Delta, "--dp-delta");
        if (BudgetEpsilon is double budget) PrivacyArguments.RequireEpsilon(budget, "--dp-budget");
    }

    /// <summary>σ as given, or computed for the target ε over the planned steps (<see cref="NoiseCalibration"/>).</summary>
    public double ResolveNoiseMultiplier(double samplingRate, long plannedSteps)
    {
        Validate();
        return NoiseMultiplier ?? NoiseCalibration.NoiseMultiplierFor(TargetEpsilon!.Value, Delta, samplingRate, plannedSteps);
    }
}
