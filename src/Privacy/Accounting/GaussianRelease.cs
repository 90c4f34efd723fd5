namespace AllReduceNet.Privacy.Accounting;

/// <summary>
/// One kind of release: a clipped sum with Gaussian noise of σ times the clipping norm, over a batch that holds each
/// record with probability q (Poisson sampling). q = 1 is the plain Gaussian mechanism (a full-batch step, a
/// parameter-server push of noised values, a federated round in which every client takes part).
/// </summary>
/// <param name="SamplingRate">q in (0, 1].</param>
/// <param name="NoiseMultiplier">σ ≥ 0: the noise's standard deviation over the L2 sensitivity (the clip).</param>
public readonly record struct GaussianRelease(double SamplingRate, double NoiseMultiplier)
{
    /// <summary>True for q = 1, where no subsampling amplifies privacy.</summary>
    public bool IsPlainGaussian => SamplingRate == 1;

    /// <summary>Refuses a q outside (0, 1] or a negative or NaN σ, naming the field.</summary>
    public void Validate()
    {
        PrivacyArguments.RequireSamplingRate(SamplingRate);
        PrivacyArguments.RequireNoiseMultiplier(NoiseMultiplier);
    }
}

/// <summary>A number of consecutive releases with the same parameters: the unit of the accountant's history.</summary>
/// <param name="Release">The mechanism of each step.</param>
/// <param name="Steps">How many steps, ≥ 0.</param>
public readonly record struct AccountedSteps(GaussianRelease Release, long Steps);
