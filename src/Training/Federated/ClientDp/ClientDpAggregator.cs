using System.Globalization;
using AllReduceNet.Collectives;
using AllReduceNet.Kernels;

namespace AllReduceNet.Training.Federated.ClientDp;

/// <summary>
/// Client-level DP around any <see cref="IUpdateAggregator"/> (plain or secure): on the rank that simulated it, each
/// reporting client's update becomes <c>[clip(Δ_k, C) + client noise share, ((b_k − 1/2) + count noise share) / s, 1]</c>,
/// P + 2 floats, with Δ_k its unweighted model delta (the sample weight n_k is dropped: a weight that depends on the
/// data would leak) and b_k = 1 when ‖Δ_k‖ ≤ C. The inner aggregator sums these vectors; the server then adds its
/// noise (server placement), computes the next clip norm (adaptive clipping) and hands the trainer
/// <c>[noised sum, m]</c>: the server step divides by the fixed expected client count m. The clip norm is broadcast
/// from the server so every rank clips the next round with the same C. Clipping runs on the kernels
/// (PrivacyOps.ClipRows, one row per client); noise on PrivacyOps.AddGaussianNoise (or the OS CSPRNG).
/// </summary>
internal sealed class ClientDpAggregator : IUpdateAggregator
{
    private const int Server = 0;
    /// <summary>How many standard deviations of client noise secure aggregation's element clamp must leave untouched.</summary>
    public const double ClampMarginStds = 8;

    private readonly ClientDpSettings _dp;
    private readonly IUpdateAggregator _inner;
    private readonly IKernelBackend _backend;
    private readonly ClientDpNoise _noise;
    private readonly double _maxClipNorm;
    private readonly double _countScale;
    private DeviceBuffer<float>? _row;
    private DeviceBuffer<float>? _norm;

    /// <param name="dp">The validated settings.</param>
    /// <param name="inner">Sums the privatized P + 2 vectors (plain or secure aggregation); disposed with this.</param>
    /// <param name="backend">This rank's kernels.</param>
    /// <param name="seed">The run's seed (seeded noise streams).</param>
    /// <param name="clipNorm">C of the first round to run (the resumed one with adaptive clipping).</param>
    /// <param name="secureElementClip">--secagg-clip when secure aggregation clamps each element to ±it, else null.</param>
    public ClientDpAggregator(ClientDpSettings dp, IUpdateAggregator inner, IKernelBackend backend, int seed, double clipNorm, float? secureElementClip)
    {
        _dp = dp;
        _inner = inner;
        _backend = backend;
        _noise = new ClientDpNoise(backend, seed, dp.SecureRandom);
        _maxClipNorm = MaxClipNorm(dp, secureElementClip);
        _countScale = CountScale(dp, secureElementClip);
        if (clipNorm > _maxClipNorm)
        {
            if (dp.Adaptive is null)
                throw new TrainingException(string.Create(CultureInfo.InvariantCulture,
                    $"--client-dp-clip {clipNorm:G4} with --secure-aggregation: secure aggregation clamps each element to ±--secagg-clip {secureElementClip}, which would cut the clients' noise; the clip norm may be at most {_maxClipNorm:G4} (C + {ClampMarginStds} noise stds <= --secagg-clip). Raise --secagg-clip to at least {clipNorm * (1 + ClampMarginStds * dp.UpdateNoiseMultiplier / Math.Sqrt(dp.Placement == NoisePlacement.Clients ? dp.MinClients : double.PositiveInfinity)):G4} or lower --client-dp-clip."));
            clipNorm = _maxClipNorm;
        }
        ClipNorm = clipNorm;
    }

    /// <summary>
    /// The largest clip norm secure aggregation's per-element clamp ±S leaves untouched with 8 noise stds to spare:
    /// C + 8 z_Δ C / √T ≤ S (the count slot is checked when the settings are validated). +∞ without secure aggregation.
    /// </summary>
    public static double MaxClipNorm(ClientDpSettings dp, float? secureElementClip)
    {
        if (secureElementClip is not float s) return double.PositiveInfinity;
        double share = dp.Placement == NoisePlacement.Clients ? dp.UpdateNoiseMultiplier / Math.Sqrt(dp.MinClients) : 0;
        return s / (1 + ClampMarginStds * share);
    }

    /// <summary>
    /// The count slot is sent divided by this, so that the centered bit (±1/2) plus 8 stds of its noise share stays
    /// within secure aggregation's element clamp; the server multiplies the sum back. 1 without secure aggregation.
    /// </summary>
    public static double CountScale(ClientDpSettings dp, float? secureElementClip)
    {
        if (secureElementClip is not float s) return 1;
        double reach = 0.5 + ClampMarginStds * (dp.Placement == NoisePlacement.Clients ? dp.ClientCountNoiseStd : 0);
        return Math.Max(1, reach / s);
    }

    /// <summary>C of the next round (the same on every rank).</summary>
    public double ClipNorm { get; private set; }

    public string Name => $"{_inner.Name}, {_dp.Describe()}";

    public AggregatedUpdate? Aggregate(Communicator world, RoundPlan plan, IReadOnlyList<ClientUpdate> local, int vectorLength)
    {
        int p = vectorLength - 1;
        double clip = ClipNorm;
        var privatized = new List<ClientUpdate>(local.Count);
        foreach (var update in local) privatized.Add(Privatize(plan.Round, update, p, clip));
        var inner = _inner.Aggregate(world, plan, privatized, p + 2);

        AggregatedUpdate? result = null;
        Span<double> next = [clip];
        if (world.Rank == Server)
        {
            result = Finish(plan, inner!, p, clip, out double nextClip);
            next[0] = nextClip;
        }
        world.Broadcast(next, Server);
        ClipNorm = next[0];
        return result;
    }

    /// <summary>Rank 0: server noise, the next clip norm, and the trainer's P + 1 vector with the fixed denominator m.</summary>
    private AggregatedUpdate Finish(RoundPlan plan, AggregatedUpdate inner, int p, double clip, out double nextClip)
    {
        nextClip = clip;
        if (inner.Sum is not { } sum) return inner;
        if (_dp.Placement == NoisePlacement.Clients && inner.Contributors < _dp.MinClients)
            return AggregatedUpdate.Abort(string.Create(CultureInfo.InvariantCulture,
                $"client-level DP: only {inner.Contributors} clients' noise shares are in the sum, fewer than the {_dp.MinClients} (--client-dp-min-clients) each share was scaled for; releasing it would give less noise than accounted"),
                inner.BytesSentPerClient) with { SurvivorsByStage = inner.SurvivorsByStage };
        var noised = sum.AsSpan(0, p).ToArray();
        double count = sum[p] * _countScale;
        if (_dp.Placement == NoisePlacement.Server)
        {
            _noise.Add(noised, _dp.UpdateNoiseMultiplier * clip, plan.Round, ClientDpNoise.ServerId, ClientDpNoise.Stream.ServerUpdate);
            if (_dp.Adaptive is { } a) count += _noise.Sample(a.CountNoise, plan.Round, ClientDpNoise.ServerId, ClientDpNoise.Stream.ServerCount);
        }
        if (_dp.Adaptive is { } adaptive) nextClip = AdaptiveClipNorm.Next(clip, count, _dp.ExpectedClients, adaptive, _maxClipNorm);
        var outcome = new float[p + 1];
        noised.CopyTo(outcome, 0);
        outcome[p] = _dp.ExpectedClients;
        return inner with { Sum = outcome };
    }

    /// <summary>On the client's rank: clip its unweighted delta to C (kernel), add its noise shares, report the centered bit.</summary>
    private ClientUpdate Privatize(int round, ClientUpdate update, int p, double clip)
    {
        if (update.Vector.Length != p + 1)
            throw new TrainingException($"round {round + 1}: client {update.Client}'s update has {update.Vector.Length} values, but the model needs {p + 1} (P + 1).");
        float weight = update.Weight;
        var vector = new float[p + 2];
        for (int i = 0; i < p; i++) vector[i] = update.Vector[i] / weight;
        _row ??= _backend.Allocate<float>(p);
        _norm ??= _backend.Allocate<float>(1);
        _row.CopyFrom(vector.AsSpan(0, p));
        _backend.ClipRows(_row, 1, p, (float)clip, _norm);
        _row.CopyTo(vector.AsSpan(0, p));
        double norm = _norm.ToArray()[0];
        if (_dp.Placement == NoisePlacement.Clients)
            _noise.Add(vector.AsSpan(0, p), _dp.ClientUpdateNoiseStd(clip), round, update.Client, ClientDpNoise.Stream.ClientUpdate);
        if (_dp.Adaptive is not null)
            vector[p] = (float)((AdaptiveClipNorm.CenteredBit(norm, clip) +
                (_dp.Placement == NoisePlacement.Clients ? _noise.Sample(_dp.ClientCountNoiseStd, round, update.Client, ClientDpNoise.Stream.ClientCount) : 0)) / _countScale);
        vector[p + 1] = 1;
        return new ClientUpdate(update.Client, vector);
    }

    public void Dispose()
    {
        _inner.Dispose();
        _noise.Dispose();
        _row?.Dispose();
        _norm?.Dispose();
    }
}
