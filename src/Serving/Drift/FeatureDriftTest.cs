namespace AllReduceNet.Serving.Drift;

/// <summary>The per-feature test whose verdicts are counted for the dataset drift flag (<c>--drift-feature-test</c>).</summary>
internal enum FeatureDriftTest
{
    /// <summary>Evidently's rule of thumb, on the window's size: Kolmogorov-Smirnov for windows of at most 1,000 rows
    /// (a p-value means something at that size), normed Wasserstein above (where every p-value would be tiny).</summary>
    Auto,

    /// <summary>Two-sample Kolmogorov-Smirnov, drifted when p &lt; <c>--drift-ks-p-value</c>.</summary>
    Ks,

    /// <summary>Wasserstein-1 over the reference deviation, drifted above <c>--drift-wasserstein</c>.</summary>
    Wasserstein,

    /// <summary>Population stability index, drifted above <c>--drift-psi</c>.</summary>
    Psi,
}
