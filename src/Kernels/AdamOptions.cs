namespace AllReduceNet.Kernels;

/// <summary>
/// Hyper-parameters of Adam and AdamW, with PyTorch's semantics at step t (1-based):
/// <code>
/// Adam:  g' = g + weightDecay * p                 AdamW: p *= 1 - lr * weightDecay, g' = g
/// m = beta1 * m + (1 - beta1) * g'
/// v = beta2 * v + (1 - beta2) * g'^2
/// p -= (lr / (1 - beta1^t)) * m / (sqrt(v) / sqrt(1 - beta2^t) + epsilon)
/// </code>
/// </summary>
public readonly struct AdamOptions
{
    /// <summary>Creates options.</summary>
    /// <param name="learningRate">Step size, finite and positive.</param>
    /// <param name="beta1">First-moment decay in [0, 1).</param>
    /// <param name="beta2">Second-moment decay in [0, 1).</param>
    /// <param name="epsilon">Denominator guard, finite and positive.</param>
    /// <param name="weightDecay">Weight decay coefficient, finite and non-negative.</param>
    /// <param name="decoupledWeightDecay">True for AdamW (decay applied to the weights), false for Adam (L2 added to the gradient).</param>
    /// <exception cref="ArgumentOutOfRangeException">A value is out of its range.</exception>
    public AdamOptions(float learningRate = 1e-3f, float beta1 = 0.9f, float beta2 = 0.999f, float epsilon = 1e-8f,
        float weightDecay = 0f, bool decoupledWeightDecay = false)
    {
        ThrowHelper.ThrowIfNotPositiveFinite(learningRate);
        ThrowHelper.ThrowIfOutside(beta1, 0f, 0.99999994f);
        ThrowHelper.ThrowIfOutside(beta2, 0f, 0.99999994f);
        ThrowHelper.ThrowIfNotPositiveFinite(epsilon);
        ThrowHelper.ThrowIfNegativeOrNotFinite(weightDecay);
        LearningRate = learningRate;
        Beta1 = beta1;
        Beta2 = beta2;
        Epsilon = epsilon;
        WeightDecay = weightDecay;
        DecoupledWeightDecay = decoupledWeightDecay;
    }

    /// <summary>Step size.</summary>
    public float LearningRate { get; }

    /// <summary>First-moment decay.</summary>
    public float Beta1 { get; }

    /// <summary>Second-moment decay.</summary>
    public float Beta2 { get; }

    /// <summary>Denominator guard.</summary>
    public float Epsilon { get; }

    /// <summary>Weight decay coefficient.</summary>
    public float WeightDecay { get; }

    /// <summary>True for AdamW.</summary>
    public bool DecoupledWeightDecay { get; }

    /// <summary>Throws when the options were default-constructed (learning rate 0).</summary>
    internal void Validate()
    {
        if (!(LearningRate > 0f) || !(Epsilon > 0f))
            ThrowHelper.ThrowArgument("options", $"options.LearningRate ({LearningRate}) and options.Epsilon ({Epsilon}) must be positive; construct AdamOptions with its constructor.");
    }
}
