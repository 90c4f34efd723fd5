using System.Numerics.Tensors;
using AllReduceNet.Collectives;

namespace AllReduceNet.Training.Compression;

/// <summary>
/// --compress powersgd:RANK: PowerSGD (Vogels et al. 2019). A layer's weight gradient M (inputs m x outputs n, plus
/// the error left from the last step) is approximated by P Q^T of rank r with one step of power iteration that starts
/// from the last step's Q (warm start): P = M Q, summed over the ranks and orthonormalized (Gram-Schmidt); Q = M^T P,
/// summed; the bucket becomes P Q^T and the error M - P Q^T / N is kept for the next step (error feedback). Since the
/// ranks' sums are linear in M, P Q^T is the projection of the summed gradient. Biases, and matrices too small to
/// gain (m n &lt;= r (m + n)), go uncompressed in the same AllReduce as P. Q starts from a normal draw seeded by
/// --seed and the layer, the same on every rank; every later step is computed from AllReduce results, so every rank
/// holds bitwise the same P, Q and bucket. Bytes: 2(N-1)/N x 4 (r (m + n) + bias) per layer.
/// </summary>
internal sealed class PowerSgdCompressor : IGradientCompressor
{
    private readonly Communicator _world;
    private readonly CollectiveOptions _options;
    private readonly int[] _sizes;
    private readonly int[] _ranks;
    private readonly float[]?[] _errors, _qt;
    private readonly float[] _pt, _reduceBuffer;
    private long _bytesSent;

    /// <param name="world">The ranks that sum.</param>
    /// <param name="options">The AllReduce options of the run (algorithm).</param>
    /// <param name="rank">The approximation rank r, at least 1 (capped per layer at the matrix's smaller side).</param>
    /// <param name="sizes">The model's layer sizes (layer l's weights are sizes[l] x sizes[l + 1]).</param>
    /// <param name="seed">The run's seed, for the initial Q.</param>
    public PowerSgdCompressor(Communicator world, CollectiveOptions options, int rank, IReadOnlyList<int> sizes, int seed)
    {
        _world = world;
        _options = options;
        _sizes = sizes.ToArray();
        int layers = _sizes.Length - 1;
        _ranks = new int[layers];
        _errors = new float[]?[layers];
        _qt = new float[]?[layers];
        int largestP = 0, largestReduce = 0;
        for (int l = 0; l < layers; l++)
        {
            int m = _sizes[l], n = _sizes[l + 1], r = Math.Min(rank, Math.Min(m, n));
            bool worthIt = (long)m * n > (long)r * (m + n);
            _ranks[l] = worthIt ? r : 0;
            int bucket = m * n + n;
            if (!worthIt) { largestReduce = Math.Max(largestReduce, bucket); continue; }
            _errors[l] = new float[m * n];
            _qt[l] = InitialQ(r, n, seed, l);
            largestP = Math.Max(largestP, r * m);
            largestReduce = Math.Max(largestReduce, Math.Max(r * m + n, r * n));
        }
        _pt = new float[largestP];
        _reduceBuffer = new float[largestReduce];
    }

    /// <summary>Layer <paramref name="layer"/>'s approximation rank, 0 where it is sent uncompressed.</summary>
    public int RankOf(int layer) => _ranks[layer];

    /// <summary>Layer <paramref name="layer"/>'s error feedback (M - P Q^T / N of the last step); empty when uncompressed (tests).</summary>
    public ReadOnlySpan<float> Error(int layer) => _errors[layer];

    public long BytesSent => _bytesSent;

    public string Describe() =>
        $"compress powersgd: weight matrices as rank-{string.Join("/", _ranks)} P Q^T (0 = sent whole), one warm-started power iteration a step, error feedback; biases uncompressed";

    /// <summary>r x n, rows of Q^T, standard normal (Box-Muller) from a generator seeded by the run's seed and the layer.</summary>
    private static float[] InitialQ(int r, int n, int seed, int layer)
    {
        var random = new Random(HashCode.Combine(seed, layer, 0x5053)); // System.Random with a seed is the same on every rank and run
        var q = new float[r * n];
        for (int i = 0; i < q.Length; i++)
        {
            double u1 = 1.0 - random.NextDouble(), u2 = random.NextDouble();
            q[i] = (float)(Math.Sqrt(-2.0 * Math.Log(u1)) * Math.Cos(2 * Math.PI * u2));
        }
        return q;
    }

    public void Sum(int layer, Span<float> bucket)
    {
        int m = _sizes[layer], n = _sizes[layer + 1], r = _ranks[layer], ranks = _world.Size;
        if (bucket.Length != m * n + n)
            throw new ArgumentException($"layer {layer}'s bucket has {bucket.Length} entries, but a {m} x {n} layer with bias has {m * n + n}.", nameof(bucket));
        if (r == 0)
        {
            _world.AllReduce(bucket, ReduceOp.Sum, _options);
            _bytesSent += WireBytes.AllReduce(bucket.Length, sizeof(float), ranks);
            return;
        }
        var matrix = _errors[layer].AsSpan();   // becomes M = gradient + error in place
        var gradient = bucket[..(m * n)];
        TensorPrimitives.Add(matrix, gradient, matrix);
        var qt = _qt[layer].AsSpan();
        var pt = _pt.AsSpan(0, r * m);

        // P = M Q, with the bias beside it in one AllReduce.
        var first = _reduceBuffer.AsSpan(0, r * m + n);
        for (int i = 0; i < m; i++)
        {
            var row = matrix.Slice(i * n, n);
            for (int j = 0; j < r; j++) first[j * m + i] = TensorPrimitives.Dot(row, qt.Slice(j * n, n));
        }
        bucket[(m * n)..].CopyTo(first[(r * m)..]);
        _world.AllReduce(first, ReduceOp.Sum, _options);
        first[..(r * m)].CopyTo(pt);
        first[(r * m)..].CopyTo(bucket[(m * n)..]);
        Orthonormalize(pt, r, m);

        // Q = M^T P (rows of Q^T: qt[j] = sum_i P[i, j] M[i, :]).
        var second = _reduceBuffer.AsSpan(0, r * n);
        second.Clear();
        for (int i = 0; i < m; i++)
        {
            var row = matrix.Slice(i * n, n);
            for (int j = 0; j < r; j++)
            {
                var q = second.Slice(j * n, n);
                TensorPrimitives.MultiplyAdd(row, pt[j * m + i], q, q);
            }
        }
        _world.AllReduce(second, ReduceOp.Sum, _options);
        second.CopyTo(qt);

        // The bucket becomes P Q^T, the approximate sum over the ranks. This rank's error is its M minus its 1/N share
        // of that sum (PyTorch's hook: the local gradient minus the approximate mean), so the ranks' errors add up
        // to exactly what the sum missed.
        float share = 1f / ranks;
        for (int i = 0; i < m; i++)
        {
            var approximation = gradient.Slice(i * n, n);
            approximation.Clear();
            for (int j = 0; j < r; j++) TensorPrimitives.MultiplyAdd(qt.Slice(j * n, n), pt[j * m + i], approximation, approximation);
            var error = matrix.Slice(i * n, n);
            TensorPrimitives.MultiplyAdd(approximation, -share, error, error);
        }
        _bytesSent += WireBytes.AllReduce(r * m + n, sizeof(float), ranks) + WireBytes.AllReduce(r * n, sizeof(float), ranks);
    }

    /// <summary>
    /// Gram-Schmidt on the r rows of <paramref name="rows"/> (the columns of P), each of length m, with the projection
    /// done twice ("twice is enough": one pass leaves rounding along the earlier rows that normalizing a small
    /// remainder would blow up). A row that loses all but 1e-4 of its norm to the earlier ones is dependent on them
    /// (P has lower rank than r): it is cleared rather than normalized from rounding noise; error feedback keeps what
    /// it would have carried.
    /// </summary>
    private static void Orthonormalize(Span<float> rows, int r, int m)
    {
        for (int j = 0; j < r; j++)
        {
            var row = rows.Slice(j * m, m);
            float before = TensorPrimitives.Norm(row);
            for (int pass = 0; pass < 2; pass++)
                for (int k = 0; k < j; k++)
                {
                    var earlier = rows.Slice(k * m, m);
                    TensorPrimitives.MultiplyAdd(earlier, -TensorPrimitives.Dot(row, earlier), row, row);
                }
            float norm = TensorPrimitives.Norm(row);
            if (norm > 1e-4f * before && norm > 1e-30f) TensorPrimitives.Multiply(row, 1f / norm, row);
            else row.Clear();
        }
    }
}
