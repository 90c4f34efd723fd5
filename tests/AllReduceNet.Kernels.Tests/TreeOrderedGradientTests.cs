using AllReduceNet.Kernels;
using AllReduceNet.Kernels.Cpu;

namespace AllReduceNet.Kernels.Tests;

/// <summary>
/// The tree-ordered dense gradients (ddp --reproducible): bitwise equal to an explicit reference tree written as plain
/// scalar recursion; a subtree computed alone and added to its sibling gives the bits of the whole (which is what makes
/// the sum independent of the rank count); the same bits on 1 or many threads and on every backend. And the matrix
/// product it relies on for the rest of the step: each row of C has the same bits whatever rows share the call.
/// </summary>
public class TreeOrderedGradientTests
{
    /// <summary>The order the kernel documents, written the slow, obvious way: leaves are fused multiply-adds in row
    /// order from 0 (plain adds for the bias), node [lo, hi) splits at lo + the largest power of two below hi - lo.</summary>
    private static (float[] Weights, float[] Bias) ReferenceTree(float[] x, float[] dz, int[] partEnds, int inFeatures, int outFeatures)
    {
        float[] Leaf(int part)
        {
            int start = part == 0 ? 0 : partEnds[part - 1], end = partEnds[part];
            var leaf = new float[inFeatures * outFeatures + outFeatures];
            for (int i = 0; i < inFeatures; i++)
            {
                for (int j = 0; j < outFeatures; j++)
                {
                    float acc = 0f;
                    for (int s = start; s < end; s++) acc = Fused(x[s * inFeatures + i], dz[s * outFeatures + j], acc);
                    leaf[i * outFeatures + j] = acc;
                }
            }
            for (int j = 0; j < outFeatures; j++)
            {
                float acc = 0f;
                for (int s = start; s < end; s++) acc += dz[s * outFeatures + j];
                leaf[inFeatures * outFeatures + j] = acc;
            }
            return leaf;
        }
        float[] Node(int lo, int hi)
        {
            if (hi - lo == 1) return Leaf(lo);
            int half = 1;
            while (half * 2 < hi - lo) half *= 2;
            float[] left = Node(lo, lo + half), right = Node(lo + half, hi);
            for (int e = 0; e < left.Length; e++) left[e] += right[e];
            return left;
        }
        var all = Node(0, partEnds.Length);
        return (all[..(inFeatures * outFeatures)], all[(inFeatures * outFeatures)..]);
    }

    // The kernel uses FMA where the CPU has it (every x64 this project runs on); without it, a multiply then an add.
    private static float Fused(float a, float b, float acc) =>
        System.Runtime.Intrinsics.X86.Fma.IsSupported ? MathF.FusedMultiplyAdd(a, b, acc) : acc + a * b;

    private static (float[] Weights, float[] Bias) Kernel(float[] x, float[] dz, int[] partEnds, int inFeatures, int outFeatures, int threads,
        bool wide = true)
    {
        float[] weights = new float[inFeatures * outFeatures], bias = new float[outFeatures];
        Array.Fill(weights, float.NaN);   // overwritten, not accumulated
        Array.Fill(bias, float.NaN);
        // wide: AVX-512's 8 x 32 tile where the CPU has it; false: AVX2's 6 x 16. Both must give the reference's bits.
        TreeOrderedGradient.Compute(x, dz, weights, bias, partEnds, inFeatures, outFeatures, threads, wide);
        return (weights, bias);
    }

    /// <summary>Equal bit patterns (NaN included), naming the first element that differs.</summary>
    private static void BitwiseEqual(float[] expected, float[] actual)
    {
        Assert.Equal(expected.Length, actual.Length);
        for (int i = 0; i < expected.Length; i++)
        {
            if (BitConverter.SingleToInt32Bits(expected[i]) != BitConverter.SingleToInt32Bits(actual[i]))
                Assert.Fail($"element {i} of {expected.Length}: expected {expected[i]:R}, got {actual[i]:R}");
        }
    }

    private static int[] Ends(params int[] rowsPerPart)
    {
        var ends = new int[rowsPerPart.Length];
        for (int p = 0, end = 0; p < ends.Length; p++) ends[p] = end += rowsPerPart[p];
        return ends;
    }

    public static TheoryData<int[], int, int> Shapes => new()
    {
        { [5], 13, 21 },                         // one part: a plain row-order sum
        { [3, 4], 6, 16 },                       // exact tiles
        { [2, 2, 2, 2, 2, 2, 2, 2], 7, 17 },     // P = 8, ragged tile edges
        { [1, 0, 3, 2, 5], 11, 3 },              // 5 parts (not a power of two), an empty part, fewer columns than a vector
        { [4, 4, 4, 4, 4, 4, 4], 19, 10 },       // 7 parts
        { [16, 16, 16, 16], 130, 130 },          // past the threshold where the kernel spreads over threads
        { [3, 5, 2, 6], 17, 75 },                // wide tiles: two full 32-column panels and a ragged third, 8-row tiles and a ragged one
    };

    [Theory]
    [MemberData(nameof(Shapes))]
    public void It_equals_the_explicit_reference_tree_bit_for_bit(int[] rowsPerPart, int inFeatures, int outFeatures)
    {
        var random = new Random(rowsPerPart.Length * 31 + inFeatures);
        var ends = Ends(rowsPerPart);
        int rows = ends[^1];
        float[] x = random.RandomFloats(rows * inFeatures), dz = random.RandomFloats(rows * outFeatures);
        var expected = ReferenceTree(x, dz, ends, inFeatures, outFeatures);
        foreach (bool wide in new[] { true, false })
        foreach (int threads in new[] { 1, 3 })
        {
            var actual = Kernel(x, dz, ends, inFeatures, outFeatures, threads, wide);
            BitwiseEqual(expected.Weights, actual.Weights);
            BitwiseEqual(expected.Bias, actual.Bias);
        }
    }

    [Theory]
    [InlineData(2)]
    [InlineData(4)]
    [InlineData(8)]
    public void Subtrees_added_lower_first_give_the_bits_of_the_whole(int ranks)
    {
        // What recursive doubling does with the ranks' subtrees: 8 parts of uneven size, split over 2, 4 or 8 "ranks".
        const int inFeatures = 37, outFeatures = 29;
        var random = new Random(ranks);
        int[] rowsPerPart = [5, 4, 5, 4, 5, 4, 5, 4];
        var ends = Ends(rowsPerPart);
        // Mixed magnitudes, so that a different order would change the last bits.
        float[] x = random.RandomFloats(ends[^1] * inFeatures).Select((v, i) => v * MathF.Pow(2, i % 23 - 11)).ToArray();
        float[] dz = random.RandomFloats(ends[^1] * outFeatures).Select((v, i) => v * MathF.Pow(2, i % 17 - 8)).ToArray();
        var whole = Kernel(x, dz, ends, inFeatures, outFeatures, 2);

        int local = rowsPerPart.Length / ranks;
        var partials = new List<float[]>();
        for (int r = 0; r < ranks; r++)
        {
            int startRow = r == 0 ? 0 : ends[r * local - 1];
            var localEnds = ends[(r * local)..((r + 1) * local)].Select(e => e - startRow).ToArray();
            int rows = localEnds[^1];
            var (w, b) = Kernel(x[(startRow * inFeatures)..((startRow + rows) * inFeatures)], dz[(startRow * outFeatures)..((startRow + rows) * outFeatures)],
                localEnds, inFeatures, outFeatures, 1);
            partials.Add([.. w, .. b]);
        }
        // Recursive doubling's rounds: partners differing in bit k, the lower one's value first.
        for (int mask = 1; mask < ranks; mask <<= 1)
        {
            var next = new List<float[]>();
            for (int r = 0; r < partials.Count; r += 2)
            {
                float[] lower = partials[r], upper = partials[r + 1];
                next.Add(lower.Select((v, e) => v + upper[e]).ToArray());
            }
            partials = next;
        }
        BitwiseEqual([.. whole.Weights, .. whole.Bias], partials[0]);

        // And the order matters: the same leaves summed left to right differ somewhere, so the test can tell.
        var sequential = new float[inFeatures * outFeatures];
        for (int p = 0; p < rowsPerPart.Length; p++)
        {
            var (w, _) = Kernel(x[((p == 0 ? 0 : ends[p - 1]) * inFeatures)..(ends[p] * inFeatures)],
                dz[((p == 0 ? 0 : ends[p - 1]) * outFeatures)..(ends[p] * outFeatures)], [rowsPerPart[p]], inFeatures, outFeatures, 1);
            for (int e = 0; e < w.Length; e++) sequential[e] = p == 0 ? w[e] : sequential[e] + w[e];
        }
        Assert.NotEqual(whole.Weights, sequential);
    }

    [Fact]
    public void Infinities_and_NaN_propagate_as_IEEE_addition_says()
    {
        const int inFeatures = 7, outFeatures = 18;
        var ends = Ends(2, 2, 2, 2);
        var random = new Random(9);
        float[] x = random.RandomFloats(8 * inFeatures), dz = random.RandomFloats(8 * outFeatures);
        dz[0 * outFeatures + 1] = float.PositiveInfinity;       // column 1: +inf in part 0
        dz[7 * outFeatures + 1] = float.NegativeInfinity;       // and -inf in part 3: NaN
        dz[3 * outFeatures + 2] = float.NaN;                    // column 2: NaN
        dz[5 * outFeatures + 3] = float.PositiveInfinity;       // column 3: +inf alone
        dz[2 * outFeatures + 4] = 1e-40f;                       // column 4: a subnormal among zeros
        for (int s = 0; s < 8; s++) if (s != 2) dz[s * outFeatures + 4] = 0f;
        var expected = ReferenceTree(x, dz, ends, inFeatures, outFeatures);
        var actual = Kernel(x, dz, ends, inFeatures, outFeatures, 1);
        BitwiseEqual(expected.Weights, actual.Weights);
        BitwiseEqual(expected.Bias, actual.Bias);
        Assert.True(float.IsNaN(actual.Bias[1]));
        Assert.True(float.IsNaN(actual.Bias[2]));
        Assert.Equal(float.PositiveInfinity, actual.Bias[3]);
        Assert.Equal(1e-40f, actual.Bias[4]);
    }

    [Theory]
    [MemberData(nameof(Backends.All), MemberType = typeof(Backends))]
    public void Every_backend_gives_the_cpu_kernels_bits(string name)
    {
        var backend = Backends.Get(name);
        const int inFeatures = 23, outFeatures = 11;
        var ends = Ends(3, 3, 2, 4);
        var random = new Random(4);
        float[] x = random.RandomFloats(ends[^1] * inFeatures), dz = random.RandomFloats(ends[^1] * outFeatures);
        var expected = ReferenceTree(x, dz, ends, inFeatures, outFeatures);
        using var dx = backend.Upload<float>(x);
        using var ddz = backend.Upload<float>(dz);
        using var dw = backend.Allocate<float>(inFeatures * outFeatures);
        using var db = backend.Allocate<float>(outFeatures);
        backend.TreeOrderedDenseGradients(dx, ddz, dw, db, ends, inFeatures, outFeatures);
        BitwiseEqual(expected.Weights, dw.ToArray());
        BitwiseEqual(expected.Bias, db.ToArray());
    }

    [Fact]
    public void Bad_arguments_are_refused_naming_what_was_wrong()
    {
        var backend = Backends.Cpu;
        using var x = backend.Allocate<float>(10 * 4);
        using var dz = backend.Allocate<float>(10 * 3);
        using var dw = backend.Allocate<float>(4 * 3);
        using var db = backend.Allocate<float>(3);
        var decreasing = Assert.Throws<ArgumentException>(() => backend.TreeOrderedDenseGradients(x, dz, dw, db, [5, 3, 10], 4, 3));
        Assert.Contains("partEnds[1] = 3", decreasing.Message);
        var tooShort = Assert.Throws<ArgumentException>(() => backend.TreeOrderedDenseGradients(x, dz, dw, db, [5, 11], 4, 3));
        Assert.Contains("input", tooShort.Message);
    }

    /// <summary>ddp --reproducible runs the forward pass and dX = dZ Wᵀ over a rank's whole shard: that is only
    /// rank-count independent if a row of C does not depend on how many rows share the product or on the threads.</summary>
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void A_row_of_the_matrix_product_does_not_depend_on_the_rows_beside_it(bool transposeB)
    {
        const int m = 128, k = 784, n = 256;
        var random = new Random(transposeB ? 2 : 1);
        float[] a = random.RandomFloats(m * k), b = random.RandomFloats(k * n);
        var whole = new float[m * n];
        CpuGemm.Multiply(a, b, whole, m, k, n, false, transposeB, maxThreads: 2);
        foreach (var (start, rows, threads) in new[] { (0, 16, 1), (16, 16, 2), (48, 32, 2), (64, 64, 1), (5, 7, 2), (127, 1, 1) })
        {
            var part = new float[rows * n];
            CpuGemm.Multiply(a[(start * k)..((start + rows) * k)], b, part, rows, k, n, false, transposeB, threads);
            BitwiseEqual(whole[(start * n)..((start + rows) * n)], part);
        }
    }
}
