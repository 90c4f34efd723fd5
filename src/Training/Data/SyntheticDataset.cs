namespace AllReduceNet.Training.Data;

/// <summary>
/// A learnable synthetic classification set for tests and smoke runs: each class has a random centre, and a sample is
/// its class centre plus Gaussian noise. Deterministic in the seed.
/// </summary>
internal static class SyntheticDataset
{
    public static TrainTestData Create(int trainSamples, int testSamples, int features, int classes, int seed)
    {
        var random = new Random(seed);
        var centres = new float[classes * features];
        for (int i = 0; i < centres.Length; i++) centres[i] = (float)(random.NextDouble() * 2 - 1);
        return new TrainTestData(Make(trainSamples, random), Make(testSamples, random),
            $"synthetic ({trainSamples} train, {testSamples} test, {features} features, {classes} classes, seed {seed})");

        Dataset Make(int count, Random r)
        {
            var inputs = new float[count * features];
            var labels = new int[count];
            for (int s = 0; s < count; s++)
            {
                int c = r.Next(classes);
                labels[s] = c;
                for (int f = 0; f < features; f++)
                    inputs[s * features + f] = centres[c * features + f] + 0.5f * (float)Gaussian(r);
            }
            return new Dataset(inputs, labels, features, classes);
        }
    }

    private static double Gaussian(Random r) =>
        Math.Sqrt(-2 * Math.Log(1 - r.NextDouble())) * Math.Cos(2 * Math.PI * r.NextDouble());
}
