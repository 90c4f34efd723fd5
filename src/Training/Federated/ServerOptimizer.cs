using System.Numerics.Tensors;

namespace AllReduceNet.Training.Federated;

/// <summary>
/// The server's step from an aggregated round: the sample-weighted mean delta d = sum_k n_k (w_k - w) / sum_k n_k,
/// then w += eta_s d (fedavg, fedprox; eta_s = --server-lr, 1 by default: the new model is the weighted mean of the
/// clients' models), or with server momentum v = beta v + d, w += eta_s v (fedavgm; Hsu et al. 2019, and Flower's
/// FedAvgM with pseudo-gradient -d). Every rank applies the same step to the same broadcast sum, so all keep
/// bitwise identical models without sending them.
/// </summary>
internal static class ServerOptimizer
{
    /// <param name="parameters">The global model, updated in place.</param>
    /// <param name="momentum">The server momentum buffer (fedavgm), updated in place; untouched when beta is 0.</param>
    /// <param name="sum">The aggregate: P weighted-delta sums, then the sum of weights (positive).</param>
    /// <param name="serverLearningRate">eta_s.</param>
    /// <param name="serverMomentum">beta; 0 applies the mean delta directly.</param>
    public static void Apply(Span<float> parameters, Span<float> momentum, ReadOnlySpan<float> sum, float serverLearningRate, float serverMomentum)
    {
        if (sum.Length != parameters.Length + 1)
            throw new ArgumentException($"the aggregate has {sum.Length} values, but {parameters.Length} parameters need {parameters.Length + 1}.", nameof(sum));
        float weight = sum[^1];
        if (!(weight > 0)) throw new ArgumentException($"the aggregate's total weight must be positive, but was {weight}.", nameof(sum));
        var mean = new float[parameters.Length];
        TensorPrimitives.Divide(sum[..^1], weight, mean);
        if (serverMomentum > 0)
        {
            TensorPrimitives.MultiplyAdd(momentum, serverMomentum, mean, momentum);   // v = beta v + d
            TensorPrimitives.MultiplyAdd(momentum, serverLearningRate, parameters, parameters);
        }
        else if (serverLearningRate == 1f) TensorPrimitives.Add(parameters, mean, parameters);
        else TensorPrimitives.MultiplyAdd(mean, serverLearningRate, parameters, parameters);
    }
}
