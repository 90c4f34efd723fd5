namespace AllReduceNet.Training.Model;

/// <summary>
/// The initial flat parameter vector: He-uniform weights (bound sqrt(6 / fan-in), suited to ReLU) and zero biases,
/// drawn from one seeded generator over the whole model. Every strategy slices this same vector, so all start from
/// identical parameters however the model is split.
/// </summary>
internal static class ParameterInitializer
{
    public static float[] Create(ParameterLayout layout, int seed)
    {
        var parameters = new float[layout.Count];
        var random = new Random(seed);
        for (int l = 0; l < layout.LayerCount; l++)
        {
            float bound = MathF.Sqrt(6f / layout.Sizes[l]);
            var weights = parameters.AsSpan(layout.LayerOffset(l), layout.WeightCount(l));
            for (int i = 0; i < weights.Length; i++) weights[i] = (float)(random.NextDouble() * 2 - 1) * bound;
        }
        return parameters;
    }
}
