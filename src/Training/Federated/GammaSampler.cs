namespace AllReduceNet.Training.Federated;

/// <summary>
/// Gamma(shape, 1) and Dirichlet draws for the label-skewed partition. Gamma by Marsaglia and Tsang (2000), "A simple
/// method for generating gamma variables"; shapes below 1 by the boost Gamma(a) = Gamma(a + 1) U^(1/a). A Dirichlet
/// vector is independent Gamma draws divided by their sum.
/// </summary>
internal static class GammaSampler
{
    public static double Gamma(Random random, double shape)
    {
        if (shape < 1)
            return Gamma(random, shape + 1) * Math.Pow(1 - random.NextDouble(), 1 / shape);
        double d = shape - 1.0 / 3, c = 1 / Math.Sqrt(9 * d);
        while (true)
        {
            double x, v;
            do
            {
                x = Normal(random);
                v = 1 + c * x;
            } while (v <= 0);
            v = v * v * v;
            double u = 1 - random.NextDouble();
            if (u < 1 - 0.0331 * x * x * x * x || Math.Log(u) < 0.5 * x * x + d * (1 - v + Math.Log(v)))
                return d * v;
        }
    }

    /// <summary>Fills <paramref name="proportions"/> with one Dirichlet(alpha, ..., alpha) draw.</summary>
    public static void Dirichlet(Random random, double alpha, Span<double> proportions)
    {
        double sum = 0;
        for (int i = 0; i < proportions.Length; i++) sum += proportions[i] = Gamma(random, alpha);
        if (sum <= 0)
        {
            // Every draw underflowed (tiny alpha): all the mass on one uniformly chosen client is the limit.
            proportions.Clear();
            proportions[random.Next(proportions.Length)] = 1;
            return;
        }
        for (int i = 0; i < proportions.Length; i++) proportions[i] /= sum;
    }

    /// <summary>A standard normal draw (Box-Muller).</summary>
    public static double Normal(Random random) =>
        Math.Sqrt(-2 * Math.Log(1 - random.NextDouble())) * Math.Cos(2 * Math.PI * random.NextDouble());
}
