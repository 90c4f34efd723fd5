namespace AllReduceNet.Kernels;

/// <summary>
/// Hyper-parameters of stochastic gradient descent, with PyTorch's <c>torch.optim.SGD</c> semantics (dampening 0):
/// <code>
/// g' = g + weightDecay * p
/// v  = momentum * v + g'                      (v starts at zero)
/// p -= lr * (nesterov ? g' + momentum * v : v)
/// </code>
/// With momentum 0 this is plain SGD and the momentum buffer still holds g'.
/// </summary>
public readonly struct SgdOptions
{
    /// <summary>Creates options.</summary>
    /// <param name="learningRate">Step size, finite and positive.</param>
    /// <param name="momentum">Momentum factor in [0, 1).</param>
    /// <param name="weightDecay">L2 penalty added to the gradient, finite and non-negative.</param>
    /// <param name="nesterov">Use Nesterov momentum.</param>
    /// <exception cref="ArgumentOutOfRangeException">A value is out of its range.</exception>
    public SgdOptions(float learningRate, float momentum = 0f, float weightDecay = 0f, bool nesterov = false)
    {
        ThrowHelper.ThrowIfNotPositiveFinite(learningRate);
        ThrowHelper.ThrowIfOutside(momentum, 0f, 0.99999994f);
        ThrowHelper.ThrowIfNegativeOrNotFinite(weightDecay);
        LearningRate = learningRate;
        Momentum = momentum;
        WeightDecay = weightDecay;
        Nesterov = nesterov;
    }

    /// <summary>Step size.</summary>
    public float LearningRate { get; }

    /// <summary>Momentum factor.</summary>
    public float Momentum { get; }

    /// <summary>L2 weight decay coefficient.</summary>
    public float WeightDecay { get; }

    /// <summary>Whether the Nesterov form is used.</summary>
    public bool Nesterov { get; }

    /// <summary>Throws when the options were default-constructed (learning rate 0).</summary>
    internal void Validate()
    {
        if (!(LearningRate > 0f))
            ThrowHelper.ThrowArgument("options", $"options.LearningRate must be positive, but was {LearningRate}; construct SgdOptions with a learning rate.");
    }
}
