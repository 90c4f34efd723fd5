using AllReduceNet.Kernels;

namespace AllReduceNet.Kernels.Tests;

public class ReductionTests
{
    public static TheoryData<string> All => Backends.All;

    [Theory]
    [MemberData(nameof(All))]
    public void SumAverageAddScale_MatchScalarReference(string name)
    {
        var backend = Backends.Get(name);
        foreach (int n in new[] { 0, 1, 7, 4099, 70_001 })
        foreach (int count in new[] { 1, 2, 5 })
        {
            var rng = new Random(n * 31 + count);
            var inputs = Enumerable.Range(0, count).Select(_ => rng.RandomFloats(n)).ToArray();
            var buffers = inputs.Select(backend.Upload).ToArray();
            using var output = backend.Allocate<float>(n);

            // Reference: the documented fixed order ((x0 + x1) + x2) ..., rounded to float at each step.
            var sum = new float[n];
            for (int i = 0; i < n; i++)
            {
                float s = inputs[0][i];
                for (int j = 1; j < count; j++) s += inputs[j][i];
                sum[i] = s;
            }
            backend.Sum(buffers, output);
            Assert.Equal(sum, output.ToArray());

            backend.Average(buffers, output);
            Assert2.Close(sum.Select(s => (double)s / count).ToArray(), output.ToArray(), 1e-6, 1e-7, $"{name} average");

            backend.Scale(output, 3f);
            backend.Add(output, buffers[0]);
            Assert2.Close(Enumerable.Range(0, n).Select(i => 3.0 * sum[i] / count + inputs[0][i]).ToArray(), output.ToArray(), 1e-5, 1e-6, $"{name} scale+add");
            foreach (var b in buffers) b.Dispose();
        }
    }

    [Theory]
    [MemberData(nameof(All))]
    public void Sum_AllowsOutputToBeFirstInputOnly(string name)
    {
        var backend = Backends.Get(name);
        using var a = backend.Upload(new[] { 1f, 2f, 3f });
        using var b = backend.Upload(new[] { 10f, 20f, 30f });
        backend.Sum([a, b], a);
        Assert.Equal(new[] { 11f, 22f, 33f }, a.ToArray());
        Assert.Throws<ArgumentException>(() => backend.Sum([a, b], b));
        Assert.Throws<ArgumentException>(() => backend.Sum([], a));
    }

    /// <summary>The slice operations a ring AllReduce uses on device-resident buffers: reduce a received segment into
    /// a chunk, scale a chunk, copy a chunk, and move host segments in and out at an offset.</summary>
    [Theory]
    [MemberData(nameof(All))]
    public void SliceOperations_TouchOnlyTheirSlice(string name)
    {
        var backend = Backends.Get(name);
        int n = 1003, segment = 257, offset = 301;
        var rng = new Random(9);
        float[] local = rng.RandomFloats(n), received = rng.RandomFloats(segment);
        using var lb = backend.Upload(local);
        using var rb = backend.Upload(received);
        backend.Add(lb, offset, rb, 0, segment);
        backend.Scale(lb, offset, segment, 0.25f);
        var expected = (float[])local.Clone();
        for (int i = 0; i < segment; i++) expected[offset + i] = (local[offset + i] + received[i]) * 0.25f;
        Assert2.Close(expected, lb.ToArray(), 1e-6, 0, $"{name} add+scale");
        Assert.Equal(local.AsSpan(0, offset).ToArray(), lb.ToArray().AsSpan(0, offset).ToArray()); // untouched, bitwise

        backend.Copy(lb, offset, lb, 0, segment);
        Array.Copy(expected, offset, expected, 0, segment);
        Assert.Equal(expected, lb.ToArray());

        var host = new float[segment];
        lb.CopyTo(offset, host);
        Assert.Equal(expected.AsSpan(offset, segment).ToArray(), host);
        lb.CopyFrom(received, n - segment);
        Assert.Equal(received, lb.ToArray().AsSpan(n - segment).ToArray());

        Assert.Throws<ArgumentOutOfRangeException>(() => backend.Add(lb, n - 10, rb, 0, segment));
        Assert.Throws<ArgumentOutOfRangeException>(() => backend.Scale(lb, -1, 2, 1f));
        Assert.Throws<ArgumentException>(() => backend.Copy(lb, 0, lb, 10, segment));
        Assert.Throws<ArgumentException>(() => lb.CopyFrom(received, n - segment + 1));
    }

    [Fact]
    public void BuffersOfAnotherBackend_AreRejectedWithTheirNames()
    {
        var cpu = Backends.Cpu;
        var gpu = Backends.Get("ilgpu-cpu");
        using var a = cpu.Allocate<float>(4);
        using var b = gpu.Allocate<float>(4);
        var e = Assert.Throws<ArgumentException>(() => cpu.Add(a, b));
        Assert.Contains("addend", e.Message);
        Assert.Contains("ilgpu-cpu", e.Message);
        Assert.Throws<ArgumentException>(() => a.CopyFrom(new float[5]));
    }
}
