namespace AllReduceNet.Privacy.Accounting;

/// <summary>An (ε, δ) guarantee and the Rényi order that gave it.</summary>
/// <param name="Epsilon">ε, ≥ 0; +∞ when no order gives a finite bound.</param>
/// <param name="Delta">δ.</param>
/// <param name="Order">The order α at which the bound is tightest (NaN when none is finite).</param>
public readonly record struct PrivacyGuarantee(double Epsilon, double Delta, double Order);

/// <summary>
/// From RDP to (ε, δ)-DP. The default is the improved conversion of Balle, Barthe, Gaboardi, Hsu and Sato 2020,
/// "Hypothesis Testing Interpretations and Rényi Differential Privacy", Theorem 21 (as Opacus' get_privacy_spent and
/// Google's dp_accounting use): ε = rdp + log((α-1)/α) - (log δ + log α)/(α-1). The classic conversion of Mironov 2017,
/// Proposition 3, ε = rdp + log(1/δ)/(α-1), is kept because older published figures (Abadi et al. 2016's and TF
/// Privacy's tutorials) were computed with it.
/// </summary>
public static class RdpConversion
{
    /// <summary>The smallest ε over the orders at which the composed RDP curve gives (ε, δ)-DP (improved conversion).</summary>
    /// <param name="orders">Rényi orders, each &gt; 1.</param>
    /// <param name="rdp">RDP at each order (same length), each ≥ 0.</param>
    /// <param name="delta">δ in (0, 1).</param>
    public static PrivacyGuarantee Epsilon(IReadOnlyList<double> orders, IReadOnlyList<double> rdp, double delta)
    {
        CheckCurve(orders, rdp);
        PrivacyArguments.RequireDelta(delta);
        double best = double.PositiveInfinity, bestOrder = double.NaN;
        for (int i = 0; i < orders.Count; i++)
        {
            double alpha = orders[i], r = rdp[i];
            if (double.IsPositiveInfinity(r)) continue;
            double epsilon;
            // With δ² ≥ 1 - e^{-rdp} the KL bound δ ≤ sqrt(1 - e^{-KL}) already gives ε = 0 (dp_accounting does the same).
            if (delta * delta + LogMath.ExpMinusOne(-r) > 0) epsilon = 0;
            else epsilon = r + LogMath.LogOnePlus(-1 / alpha) - (Math.Log(delta) + Math.Log(alpha)) / (alpha - 1);
            if (epsilon < best) { best = epsilon; bestOrder = alpha; }
        }
        return new PrivacyGuarantee(Math.Max(0, best), delta, bestOrder);
    }

    /// <summary>ε by the classic conversion rdp + log(1/δ)/(α-1) (Mironov 2017), minimised over the orders.</summary>
    public static PrivacyGuarantee EpsilonClassic(IReadOnlyList<double> orders, IReadOnlyList<double> rdp, double delta)
    {
        CheckCurve(orders, rdp);
        PrivacyArguments.RequireDelta(delta);
        double best = double.PositiveInfinity, bestOrder = double.NaN;
        for (int i = 0; i < orders.Count; i++)
        {
            double epsilon = rdp[i] - Math.Log(delta) / (orders[i] - 1);
            if (epsilon < best) { best = epsilon; bestOrder = orders[i]; }
        }
        return new PrivacyGuarantee(Math.Max(0, best), delta, bestOrder);
    }

    /// <summary>
    /// The smallest δ over the orders for a given ε (the inverse of <see cref="Epsilon"/>):
    /// log δ = (α-1)(rdp - ε + log(1 - 1/α)) - log α, and never above the KL bound sqrt(1 - e^{-rdp}).
    /// </summary>
    public static PrivacyGuarantee Delta(IReadOnlyList<double> orders, IReadOnlyList<double> rdp, double epsilon)
    {
        CheckCurve(orders, rdp);
        if (double.IsNaN(epsilon) || epsilon < 0) throw new PrivacyException($"epsilon must be >= 0; got {PrivacyArguments.Format(epsilon)}");
        double bestLog = double.PositiveInfinity, bestOrder = double.NaN;
        for (int i = 0; i < orders.Count; i++)
        {
            double alpha = orders[i], r = rdp[i];
            double logDelta = r == 0 ? double.NegativeInfinity : 0.5 * Math.Log(-LogMath.ExpMinusOne(-r));
            if (alpha > 1.01)
                logDelta = Math.Min(logDelta, (alpha - 1) * (r - epsilon + LogMath.LogOnePlus(-1 / alpha)) - Math.Log(alpha));
            if (logDelta < bestLog) { bestLog = logDelta; bestOrder = alpha; }
        }
        return new PrivacyGuarantee(epsilon, Math.Min(1, Math.Exp(bestLog)), bestOrder);
    }

    private static void CheckCurve(IReadOnlyList<double> orders, IReadOnlyList<double> rdp)
    {
        ArgumentNullException.ThrowIfNull(orders);
        ArgumentNullException.ThrowIfNull(rdp);
        if (orders.Count == 0) throw new PrivacyException("no Renyi orders given");
        if (orders.Count != rdp.Count)
            throw new PrivacyException($"{orders.Count} Renyi orders but {rdp.Count} RDP values");
        for (int i = 0; i < orders.Count; i++)
        {
            PrivacyArguments.RequireOrder(orders[i]);
            if (double.IsNaN(rdp[i]) || rdp[i] < 0)
                throw new PrivacyException($"RDP at order {PrivacyArguments.Format(orders[i])} must be >= 0; got {PrivacyArguments.Format(rdp[i])}");
        }
    }
}
