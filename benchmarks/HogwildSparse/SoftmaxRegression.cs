namespace AllReduceNet.Benchmarks.HogwildSparse;

/// <summary>
/// Multinomial (softmax) logistic regression on hashed features: one weight per feature slot and class, laid out
/// slot-major (<c>weights[slot * Classes + class]</c>) so that one example's update touches a few hundred short runs of
/// <see cref="Classes"/> floats and nothing else.
/// </summary>
internal static class SoftmaxRegression
{
    public const int Classes = 10;

    /// <summary>
    /// One plain SGD step on one example: reads the weights of the example's slots, then subtracts
    /// <paramref name="learningRate"/> x gradient from them, entry by entry. No lock: with several threads on one
    /// <paramref name="weights"/> array this is the Hogwild update (see docs/hogwild.md for what can and cannot happen).
    /// </summary>
    public static void Step(float[] weights, HashedFeatures data, int example, float learningRate)
    {
        Span<float> error = stackalloc float[Classes];
        Error(weights, data, example, error);
        var slots = data.SlotsOf(example);
        var values = data.ValuesOf(example);
        for (int j = 0; j < slots.Length; j++)
        {
            int row = slots[j] * Classes;
            float scaled = learningRate * values[j];
            for (int c = 0; c < Classes; c++) weights[row + c] -= scaled * error[c];
        }
    }

    /// <summary>The gradient of the cross-entropy with respect to the logits: softmax(logits) - onehot(label).</summary>
    public static void Error(float[] weights, HashedFeatures data, int example, Span<float> error)
    {
        Logits(weights, data, example, error);
        float max = error[0];
        for (int c = 1; c < Classes; c++) max = Math.Max(max, error[c]);
        float sum = 0;
        for (int c = 0; c < Classes; c++) { error[c] = MathF.Exp(error[c] - max); sum += error[c]; }
        for (int c = 0; c < Classes; c++) error[c] /= sum;
        error[data.Labels[example]] -= 1;
    }

    public static void Logits(float[] weights, HashedFeatures data, int example, Span<float> logits)
    {
        logits.Clear();
        var slots = data.SlotsOf(example);
        var values = data.ValuesOf(example);
        for (int j = 0; j < slots.Length; j++)
        {
            int row = slots[j] * Classes;
            float value = values[j];
            for (int c = 0; c < Classes; c++) logits[c] += weights[row + c] * value;
        }
    }

    /// <summary>Share of <paramref name="data"/>'s examples whose largest logit is their label.</summary>
    public static double Accuracy(float[] weights, HashedFeatures data)
    {
        Span<float> logits = stackalloc float[Classes];
        int correct = 0;
        for (int e = 0; e < data.Count; e++)
        {
            Logits(weights, data, e, logits);
            int best = 0;
            for (int c = 1; c < Classes; c++) if (logits[c] > logits[best]) best = c;
            if (best == data.Labels[e]) correct++;
        }
        return data.Count == 0 ? 0 : (double)correct / data.Count;
    }
}
