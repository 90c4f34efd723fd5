namespace AllReduceNet.Privacy.Accounting;

/// <summary>
/// Composes releases of the subsampled Gaussian mechanism in Rényi DP (RDP adds up over steps, even with different q
/// and σ) and converts the total to (ε, δ). This is what Train keeps for one run: <see cref="Compose(GaussianRelease, long)"/> after each
/// step or epoch, <see cref="GetEpsilon"/> for the log line, <see cref="SaveState"/> into the checkpoint and
/// <see cref="Restore"/> on --resume.
/// </summary>
public sealed class RdpAccountant
{
    private readonly double[] _orders;
    private readonly double[] _rdp;
    private readonly List<AccountedSteps> _history = new();
    private readonly Dictionary<GaussianRelease, double[]> _perStepCache = new();

    /// <summary>Creates an empty accountant over the given orders (default: Opacus' orders).</summary>
    /// <param name="orders">Rényi orders, each &gt; 1; null for <see cref="SubsampledGaussianRdp.DefaultOrders"/>.</param>
    public RdpAccountant(IReadOnlyList<double>? orders = null)
    {
        _orders = (orders ?? SubsampledGaussianRdp.DefaultOrders).ToArray();
        if (_orders.Length == 0) throw new PrivacyException("no Renyi orders given");
        foreach (double order in _orders) PrivacyArguments.RequireOrder(order);
        _rdp = new double[_orders.Length];
    }

    /// <summary>The Rényi orders at which RDP is tracked.</summary>
    public IReadOnlyList<double> Orders => _orders;

    /// <summary>What was composed, consecutive runs of equal parameters merged.</summary>
    public IReadOnlyList<AccountedSteps> History => _history;

    /// <summary>The total number of steps composed.</summary>
    public long TotalSteps => _history.Sum(h => h.Steps);

    /// <summary>The composed RDP at each order (a copy).</summary>
    public double[] Rdp => (double[])_rdp.Clone();

    /// <summary>Adds <paramref name="steps"/> releases of the subsampled Gaussian with these q and σ.</summary>
    public void Compose(double samplingRate, double noiseMultiplier, long steps = 1)
        => Compose(new GaussianRelease(samplingRate, noiseMultiplier), steps);

    /// <summary>Adds <paramref name="steps"/> releases of <paramref name="release"/>.</summary>
    public void Compose(GaussianRelease release, long steps = 1)
    {
        release.Validate();
        PrivacyArguments.RequireSteps(steps);
        if (steps == 0) return;
        double[] perStep = PerStep(release);
        for (int i = 0; i < _rdp.Length; i++) _rdp[i] += steps * perStep[i];
        if (_history.Count > 0 && _history[^1].Release == release)
            _history[^1] = _history[^1] with { Steps = _history[^1].Steps + steps };
        else
            _history.Add(new AccountedSteps(release, steps));
    }

    /// <summary>ε at this δ for everything composed so far (improved conversion, Balle et al. 2020).</summary>
    public PrivacyGuarantee GetEpsilon(double delta)
        => _history.Count == 0 ? new PrivacyGuarantee(0, delta, double.NaN) : RdpConversion.Epsilon(_orders, _rdp, delta);

    /// <summary>δ at this ε for everything composed so far.</summary>
    public PrivacyGuarantee GetDelta(double epsilon)
        => _history.Count == 0 ? new PrivacyGuarantee(epsilon, 0, double.NaN) : RdpConversion.Delta(_orders, _rdp, epsilon);

    /// <summary>ε if <paramref name="plan"/> were composed on top of what is here; this accountant is unchanged.</summary>
    public PrivacyGuarantee EpsilonAfter(IEnumerable<AccountedSteps> plan, double delta)
    {
        var copy = Restore(SaveState());
        foreach (var steps in plan) copy.Compose(steps.Release, steps.Steps);
        return copy.GetEpsilon(delta);
    }

    /// <summary>The state to save in a checkpoint: the orders and the history (RDP is recomputed from it).</summary>
    public AccountantState SaveState() => new(_orders.ToArray(), _history.ToArray());

    /// <summary>Rebuilds an accountant from a checkpoint's state, composing its history again.</summary>
    public static RdpAccountant Restore(AccountantState state)
    {
        ArgumentNullException.ThrowIfNull(state);
        if (state.Orders is null || state.History is null) throw new PrivacyException("accountant state lacks its orders or its history");
        var accountant = new RdpAccountant(state.Orders);
        foreach (var steps in state.History) accountant.Compose(steps.Release, steps.Steps);
        return accountant;
    }

    private double[] PerStep(GaussianRelease release)
    {
        if (!_perStepCache.TryGetValue(release, out var perStep))
        {
            perStep = SubsampledGaussianRdp.Compute(release.SamplingRate, release.NoiseMultiplier, _orders);
            _perStepCache[release] = perStep;
        }
        return perStep;
    }
}
