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
