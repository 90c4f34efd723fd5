using AllReduceNet.Collectives;
using AllReduceNet.Privacy;

namespace AllReduceNet.MpiTestApp;

/// <summary>
/// The masked AllReduce on MPI processes: its result must equal the plain sum of the quantized inputs bit for bit on
/// every algorithm (MPI_Allreduce included), with all-pairs and ring-neighbour masks; and the integer Sum under it
/// must wrap modulo 2^32 on every algorithm. Every rank computes every rank's input itself for the reference; rank 0
/// prints a summary.
/// </summary>
internal sealed class MaskedScenario(Communicator world)
{
    private const float Clip = 2f;
    private readonly Tally _tally = new(world.Rank);

    public int Run()
    {
        int size = world.Size;
        var algorithms = new[] { AllReduceAlgorithm.Ring, AllReduceAlgorithm.Tree, AllReduceAlgorithm.RecursiveDoubling, AllReduceAlgorithm.Native, AllReduceAlgorithm.Auto };
        foreach (int? neighbours in new int?[] { null, 1 })
        {
            var masked = MaskedAllReduce.Create(world, new MaskedAllReduceOptions { ClipRange = Clip, Neighbours = neighbours });
            int bits = masked.Format.FractionalBits;
            foreach (var algorithm in algorithms)
            foreach (int count in new[] { 0, 1, 3, 1000 * size + 37, 262_147 })
            {
                int seed = count * 31 + (int)algorithm;
                var data = Input(world.Rank, count, seed);
                masked.Sum(data, new CollectiveOptions { Algorithm = algorithm, SegmentBytes = 16384 });
                int wrong = 0, first = -1;
                for (int i = 0; i < count; i++)
                {
                    long sum = 0;
                    for (int r = 0; r < size; r++) sum += Quantize(Input(r, i + 1, seed, from: i)[0], bits);
                    float expected = (float)(sum / Math.Pow(2, bits));
                    if (BitConverter.SingleToInt32Bits(expected) != BitConverter.SingleToInt32Bits(data[i]) && wrong++ == 0) first = i;
                }
                _tally.Check(wrong == 0, $"masked sum ({(neighbours is null ? "all pairs" : "neighbours 1")}, {algorithm}, {count} floats): {wrong} wrong, first at [{first}]");
            }
        }
        foreach (var algorithm in algorithms)
        {
            var ints = new int[4099];
            for (int i = 0; i < ints.Length; i++) ints[i] = int.MaxValue - world.Rank * 977 - i;
            world.AllReduce<int>(ints, ReduceOp.Sum, new CollectiveOptions { Algorithm = algorithm, SegmentBytes = 4096 });
            int wrong = 0;
            for (int i = 0; i < ints.Length; i++)
            {
                long exact = 0;
                for (int r = 0; r < size; r++) exact += int.MaxValue - r * 977 - i;
                if (ints[i] != unchecked((int)exact)) wrong++;
            }
            _tally.Check(wrong == 0, $"int Sum wraps modulo 2^32 ({algorithm}): {wrong} of {ints.Length} wrong");
        }

        long[] totals = [_tally.Failures, _tally.Checks];
        world.AllReduce<long>(totals, ReduceOp.Sum, new CollectiveOptions { Algorithm = AllReduceAlgorithm.Native });
        if (world.Rank == 0)
        {
            Console.WriteLine($"MPI MASKED transport='{world.TransportName}' ranks={size} checks={totals[1]} failures={totals[0]}");
            Console.WriteLine(totals[0] == 0 ? "MPI MASKED PASSED" : "MPI MASKED FAILED");
        }
        return (int)totals[0];
    }

    /// <summary>Rank r's values [from, count) of the input of this seed: a hash, so any element is computed alone.</summary>
    private static float[] Input(int rank, int count, int seed, int from = 0)
    {
        var x = new float[count - from];
        for (int i = from; i < count; i++)
        {
            uint h = (uint)(i * 0x9E3779B1) ^ (uint)(rank * 0x85EBCA77) ^ (uint)(seed * 0xC2B2AE3D);
            h ^= h >> 15; h *= 0x2C1B3C6D; h ^= h >> 12; h *= 0x297A2D39; h ^= h >> 15;
            x[i - from] = (float)((h / 4294967296.0 * 3 - 1.5) * Clip); // [-1.5 R, 1.5 R]: some are clipped
        }
        return x;
    }

    private static int Quantize(float x, int bits) => (int)Math.Floor((double)Math.Clamp(x, -Clip, Clip) * Math.Pow(2, bits) + 0.5);
}
