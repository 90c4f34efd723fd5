using System.Globalization;

namespace AllReduceNet.Privacy.Accounting;

/// <summary>
/// The checks every accounting entry point makes on its numbers, so that a NaN, a negative noise or a q of 2 is
/// refused with the parameter's name and value before anything is computed or recorded.
/// </summary>
internal static class PrivacyArguments
{
    public static void RequireSamplingRate(double samplingRate, string name = "sampling rate q")
    {
        if (!(samplingRate > 0 && samplingRate <= 1))
            throw new PrivacyException($"{name} must be in (0, 1]; got {Format(samplingRate)}");
    }

    public static void RequireNoiseMultiplier(double noiseMultiplier, string name = "noise multiplier sigma")
    {
        if (double.IsNaN(noiseMultiplier) || noiseMultiplier < 0)
            throw new PrivacyException($"{name} must be a number >= 0; got {Format(noiseMultiplier)}");
    }

    public static void RequireDelta(double delta, string name = "delta")
    {
        if (!(delta > 0 && delta < 1)) throw new PrivacyException($"{name} must be in (0, 1); got {Format(delta)}");
    }

    public static void RequireEpsilon(double epsilon, string name = "epsilon")
    {
        if (!(epsilon > 0) || double.IsPositiveInfinity(epsilon))
            throw new PrivacyException($"{name} must be a finite number > 0; got {Format(epsilon)}");
    }

    public static void RequireOrder(double order)
    {
        if (!(order > 1)) throw new PrivacyException($"Renyi order must be > 1; got {Format(order)}");
    }

    public static void RequireSteps(long steps, string name = "steps")
    {
        if (steps < 0) throw new PrivacyException($"{name} must be >= 0; got {steps}");
    }

    public static string Format(double value) => value.ToString("R", CultureInfo.InvariantCulture);
}
