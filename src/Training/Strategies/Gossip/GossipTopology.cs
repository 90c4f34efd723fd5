using System.Globalization;
using System.Text;

namespace AllReduceNet.Training.Strategies.Gossip;

/// <summary>
/// The communication graph of decentralized SGD and its mixing matrix W: rank i averages x_i &lt;- sum_j W_ij x_j over
/// itself and its neighbours. Every topology is an undirected graph weighted by Metropolis-Hastings,
/// W_ij = 1 / (1 + max(deg i, deg j)) on an edge and W_ii = 1 - sum of the row, which is symmetric and therefore
/// doubly stochastic for any graph (Boyd et al., "Fastest mixing Markov chain"). On a ring it is the uniform 1/3.
/// <para>
/// ring: neighbours i +- 1. torus: a rows x cols grid (the most square factorization) with wrap-around.
/// exponential: neighbours i +- 2^k for every 2^k &lt; n (the exponential graph of Assran et al. 2019 and Ying et al.
/// 2021, made undirected so that W is symmetric). random:K: each rank links to K distinct others drawn from the seed,
/// edges made symmetric (so degrees are at least K); redrawn until the graph is connected. complete: every pair, W = 1/n
/// (exact averaging; with --gossip-every H, local SGD).
/// </para>
/// Every rank builds the same graph from (kind, n, seed): nothing is communicated.
/// </summary>
internal sealed class GossipTopology
{
    private const int MaxRandomAttempts = 100;
    private readonly double[,] _weights;

    private GossipTopology(string name, int size, SortedSet<int>[] adjacency)
    {
        Name = name;
        Size = size;
        Neighbours = adjacency.Select(a => a.ToArray()).ToArray();
        _weights = new double[size, size];
        for (int i = 0; i < size; i++)
        {
            double row = 0;
            foreach (int j in Neighbours[i])
            {
                double w = 1.0 / (1 + Math.Max(Neighbours[i].Length, Neighbours[j].Length));
                _weights[i, j] = w;
                row += w;
            }
            _weights[i, i] = 1 - row;
        }
        SecondLargestEigenvalueModulus = SlemOf(_weights, size);
    }

    /// <summary>The topology as given on the command line, e.g. "random:3".</summary>
    public string Name { get; }

    /// <summary>The number of ranks.</summary>
    public int Size { get; }

    /// <summary>Each rank's neighbours, ascending, itself excluded.</summary>
    public int[][] Neighbours { get; }

    /// <summary>W_ij.</summary>
    public double Weight(int i, int j) => _weights[i, j];

    /// <summary>The largest |eigenvalue| of W other than the eigenvalue 1: pure gossip shrinks the consensus distance by at least its square per round.</summary>
    public double SecondLargestEigenvalueModulus { get; }

    /// <summary>1 - SLEM: the larger, the faster the replicas agree.</summary>
    public double SpectralGap => 1 - SecondLargestEigenvalueModulus;

    /// <summary>Parses ring, torus, exponential, complete or random:K for <paramref name="size"/> ranks.</summary>
    /// <exception cref="TrainingException">The name is unknown, K is out of range, the rank count has no torus, or no connected random graph was found.</exception>
    public static GossipTopology Create(string spec, int size, int seed)
    {
        string text = spec.Trim().ToLowerInvariant();
        if (size < 1) throw new TrainingException($"--topology {spec}: needs at least one rank, but there are {size}.");
        if (text == "ring") return new GossipTopology("ring", size, Build(size, (i, add) => { add((i + 1) % size); add((i + size - 1) % size); }));
        // Every pair linked: Metropolis-Hastings gives W = 1/n everywhere, exact averaging. With --gossip-every H this is
        // local SGD (periodic model averaging, PyTorch's PeriodicModelAverager): no wait between the averagings.
        if (text == "complete") return new GossipTopology("complete", size, Build(size, (i, add) => { for (int j = 0; j < size; j++) add(j); }));
        if (text == "exponential")
            return new GossipTopology("exponential", size, Build(size, (i, add) =>
            {
                for (int hop = 1; hop < size; hop *= 2) { add((i + hop) % size); add((i - hop % size + size) % size); }
            }));
        if (text == "torus")
        {
            int rows = (int)Math.Sqrt(size);
            while (rows > 1 && size % rows != 0) rows--;
            if (size < 4 || rows < 2)
                throw new TrainingException($"--topology torus needs a rank count that is a rectangle rows x cols with both at least 2, but {size} is {(size < 4 ? "too small" : "prime")}; use ring, exponential or random:K, or another --ranks.");
            int cols = size / rows;
            return new GossipTopology($"torus {rows}x{cols}", size, Build(size, (i, add) =>
            {
                int r = i / cols, c = i % cols;
                add(r * cols + (c + 1) % cols); add(r * cols + (c + cols - 1) % cols);
                add((r + 1) % rows * cols + c); add((r + rows - 1) % rows * cols + c);
            }));
        }
        if (text.StartsWith("random:", StringComparison.Ordinal))
        {
            string degreeText = text["random:".Length..];
            if (!int.TryParse(degreeText, NumberStyles.None, CultureInfo.InvariantCulture, out int k) || k < 1)
                throw new TrainingException($"--topology '{spec}': K must be a positive integer (random:K links each rank to K others), but was '{degreeText}'.");
            if (k > size - 1)
                throw new TrainingException($"--topology '{spec}': K = {k} is too large for {size} ranks; each rank has at most {size - 1} others to link to.");
            var random = new Random(unchecked(seed * 7919 + size));
            for (int attempt = 0; attempt < MaxRandomAttempts; attempt++)
            {
                var adjacency = Build(size, (i, add) =>
                {
                    var others = Enumerable.Range(0, size).Where(j => j != i).ToArray();
                    random.Shuffle(others);
                    foreach (int j in others.AsSpan(0, k)) add(j);
                });
                if (IsConnected(adjacency)) return new GossipTopology($"random:{k}", size, adjacency);
            }
            throw new TrainingException($"--topology '{spec}': no connected graph in {MaxRandomAttempts} draws for {size} ranks; use a larger K.");
        }
        throw new TrainingException($"--topology '{spec}' is unknown; use ring, torus, exponential, complete or random:K.");
    }

    /// <summary>W in full for small worlds (at most 16 ranks), then the spectral gap, as report lines.</summary>
    public IReadOnlyList<string> Describe()
    {
        var lines = new List<string>
        {
            string.Create(CultureInfo.InvariantCulture,
                $"gossip topology {Name}: degree {Neighbours.Min(n => n.Length)}..{Neighbours.Max(n => n.Length)}, mixing matrix Metropolis-Hastings (symmetric, doubly stochastic), SLEM {SecondLargestEigenvalueModulus:F4}, spectral gap {SpectralGap:F4}"),
        };
        if (Size > 16) return lines;
        lines.Add("mixing matrix W (row i: the weights rank i gives each rank):");
        for (int i = 0; i < Size; i++)
        {
            var row = new StringBuilder(string.Create(CultureInfo.InvariantCulture, $"  {i,2}:"));
            for (int j = 0; j < Size; j++) row.Append(CultureInfo.InvariantCulture, $" {_weights[i, j],6:F3}");
            lines.Add(row.ToString());
        }
        return lines;
    }

    private static SortedSet<int>[] Build(int size, Action<int, Action<int>> linksOf)
    {
        var adjacency = Enumerable.Range(0, size).Select(_ => new SortedSet<int>()).ToArray();
        for (int i = 0; i < size; i++)
        {
            int from = i;
            linksOf(i, j =>
            {
                if (j == from) return;
                adjacency[from].Add(j);
                adjacency[j].Add(from);
            });
        }
        return adjacency;
    }

    private static bool IsConnected(SortedSet<int>[] adjacency)
    {
        var seen = new bool[adjacency.Length];
        var stack = new Stack<int>([0]);
        seen[0] = true;
        int reached = 1;
        while (stack.TryPop(out int i))
            foreach (int j in adjacency[i])
                if (!seen[j]) { seen[j] = true; reached++; stack.Push(j); }
        return reached == adjacency.Length;
    }

    /// <summary>The second largest eigenvalue modulus of a symmetric stochastic matrix, by cyclic Jacobi rotations.</summary>
    private static double SlemOf(double[,] w, int n)
    {
        if (n == 1) return 0;
        var a = (double[,])w.Clone();
        for (int sweep = 0; sweep < 100; sweep++)
        {
            double off = 0;
            for (int p = 0; p < n; p++) for (int q = p + 1; q < n; q++) off += a[p, q] * a[p, q];
            if (off < 1e-22) break;
            for (int p = 0; p < n; p++)
                for (int q = p + 1; q < n; q++)
                {
                    if (Math.Abs(a[p, q]) < 1e-300) continue;
                    double theta = (a[q, q] - a[p, p]) / (2 * a[p, q]);
                    double t = Math.Sign(theta == 0 ? 1 : theta) / (Math.Abs(theta) + Math.Sqrt(theta * theta + 1));
                    double c = 1 / Math.Sqrt(t * t + 1), s = t * c;
                    for (int k = 0; k < n; k++)
                    {
                        double akp = a[k, p], akq = a[k, q];
                        a[k, p] = c * akp - s * akq;
                        a[k, q] = s * akp + c * akq;
                    }
                    for (int k = 0; k < n; k++)
                    {
                        double apk = a[p, k], aqk = a[q, k];
                        a[p, k] = c * apk - s * aqk;
                        a[q, k] = s * apk + c * aqk;
                    }
                }
        }
        // W is stochastic, so 1 is an eigenvalue (of the all-ones vector); drop one eigenvalue closest to 1.
        var moduli = Enumerable.Range(0, n).Select(i => a[i, i]).OrderByDescending(v => v).Skip(1).Select(Math.Abs);
        return Math.Min(1, moduli.Max());
    }
}
