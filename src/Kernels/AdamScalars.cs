namespace AllReduceNet.Kernels;

/// <summary>Adam's per-step scalars, folded on the host once per step (bias corrections in double) and passed to the
/// kernels by value.</summary>
internal struct AdamScalars
{
    public float Beta1, OneMinusBeta1, Beta2, OneMinusBeta2, StepSize, InvSqrtBc2, Epsilon, L2, Decay;
}
