using CommandLine;

namespace AllReduceNet.Training.Cli;

/// <summary>The command line, as CommandLineParser binds it; <see cref="SettingsValidator"/> turns it into <see cref="TrainSettings"/>.</summary>
internal sealed class TrainOptions
{
    [Option("strategy", Default = "ddp", HelpText = "Parallel strategy: ddp (data parallel, bucketed AllReduce), zero (sharded optimizer state: reduce-scatter + all-gather), ps (parameter server, with --servers and --sync or --async), pipeline (GPipe model parallel, with --micro-batches), hybrid (pipeline stages x data-parallel replicas, with --stages; docs/hybrid.md), downpour (DistBelief's Downpour SGD; docs/hybrid.md), or federated over simulated clients (docs/federated.md): fedavg, fedprox (with --mu), fedavgm (with --server-momentum), or gossip (decentralized SGD, neighbour averaging over --topology; docs/gossip.md), or p2p-ledger (peers with a signed, verifiable update ledger: roles by stake, Multi-Krum, Shamir aggregation; docs/ledger.md), or hogwild (in-process only: the ranks are threads updating one shared copy of the parameters without locks; docs/hogwild.md), or tensor (Megatron-style tensor parallelism: every rank runs the whole batch through its share of each layer; docs/tensor-parallel.md).")]
    public string Strategy { get; set; } = "ddp";

    [Option("ranks", HelpText = "Number of in-process ranks (threads). Default 8 when not started by mpiexec; under mpiexec the world size comes from mpiexec -n and this must be omitted or equal.")]
    public int? Ranks { get; set; }

    [Option("algorithm", Default = "auto", HelpText = "AllReduce algorithm for ddp: auto, ring, tree, rd (recursive doubling), rh (recursive halving: recursive doubling's order with ring-like bytes), native (the transport's own, MPI_Allreduce under MPI) or hierarchical (reduce inside each node, ring across nodes, gather inside each node; needs the same number of ranks on every node).")]
    public string Algorithm { get; set; } = "auto";

    [Option("layers", Default = "784,256,128,10", HelpText = "MLP layer sizes from input to output, comma-separated. The first must match the data's features and the last its classes.")]
    public string Layers { get; set; } = "784,256,128,10";

    [Option("device", Default = "auto", HelpText = "Kernel backend: cpu (SIMD), cuda (ILGPU on the GPU), auto (cuda when present, else cpu), or ilgpu-cpu (slow emulation, for testing).")]
    public string Device { get; set; } = "auto";

    [Option("epochs", Default = 10, HelpText = "Number of epochs to train (in total, counting epochs already done when resuming).")]
    public int Epochs { get; set; } = 10;

    [Option("batch-size", Default = 128, HelpText = "Global batch size: the samples of one optimizer step, split across the ranks that compute gradients.")]
    public int BatchSize { get; set; } = 128;

    [Option("optimizer", Default = "sgd", HelpText = "Optimizer: sgd (with --momentum) or adam.")]
    public string Optimizer { get; set; } = "sgd";

    [Option("lr", HelpText = "Learning rate. Default 0.05 for sgd (0.2 for ps --async, which uses no momentum), 0.001 for adam.")]
    public float? LearningRate { get; set; }

    [Option("lr-schedule", Default = "cosine", HelpText = "Learning-rate schedule over the epochs: cosine (decay from --lr towards 0) or constant.")]
    public string LrSchedule { get; set; } = "cosine";

    [Option("momentum", HelpText = "SGD momentum in [0, 1). Default 0.9, but 0 for ps --async: asynchrony itself acts like momentum (Mitliagkas et al. 2016), and momentum on stale gradients overshoots.")]
    public float? Momentum { get; set; }

    [Option("weight-decay", Default = 0f, HelpText = "L2 weight decay.")]
    public float WeightDecay { get; set; }

    [Option("seed", Default = 1, HelpText = "Seed of parameter initialization and of the per-epoch shuffle (identical on all ranks).")]
    public int Seed { get; set; } = 1;

    [Option("data", HelpText = "Directory with the Fashion-MNIST IDX files (train-images-idx3-ubyte.gz, train-labels-idx1-ubyte.gz, t10k-images-idx3-ubyte.gz, t10k-labels-idx1-ubyte.gz). Default " + AllReduceNet.Training.Data.FashionMnist.DefaultDirectory + " (sudo apt-get install dataset-fashion-mnist).")]
    public string? Data { get; set; }

    [Option("normalize", Default = "standardize", HelpText = "Fashion-MNIST pixels: standardize (subtract the training mean, divide by the deviation; trains best) or scale (to [0, 1]: blank pixels stay 0, so first-layer gradients and ps pushes are sparse), or per-sample (each image minus its own mean, divided by its own deviation: the model ignores brightness and contrast changes of a whole image; the retraining default of Lifecycle.dll trainer, docs/lifecycle.md).")]
    public string Normalize { get; set; } = "standardize";

    [Option("synthetic", HelpText = "Train on a synthetic data set of this many training samples (test set a quarter of it) instead of Fashion-MNIST; its features and classes follow --layers.")]
    public int? Synthetic { get; set; }

    [Option("no-overlap", HelpText = "ddp: run each bucket's AllReduce blocking instead of overlapping it with the backward pass.")]
    public bool NoOverlap { get; set; }

    [Option("secure", HelpText = "ddp: sum the gradients with the masked AllReduce (AllReduceNet.Privacy): each rank quantizes its gradient to 32-bit fixed point and adds pairwise masks, so no rank sees another's gradient or a partial sum (docs/masked-allreduce.md).")]
    public bool Secure { get; set; }

    [Option("compress", HelpText = "ddp: send the gradients compressed (docs/compression.md): fp16 (half precision AllReduce), bf16 (bfloat16 on the wire, summed in fp32), topk:RATIO (the largest RATIO of each bucket's entries with error feedback, sparse all-gather; e.g. topk:0.01) or powersgd:RANK (PowerSGD rank-RANK approximation of each weight matrix with error feedback; e.g. powersgd:4).")]
    public string? Compress { get; set; }

    [Option("secure-clip", Default = 1f, HelpText = "ddp --secure: gradient elements are clipped to [-C, C] before quantization; the fractional bits are the most that cannot overflow for C and the ranks.")]
    public float SecureClip { get; set; } = 1f;

    [Option("secure-neighbours", HelpText = "ddp --secure: mask only with the K ranks on either side (2K PRG expansions instead of N-1; K = 1 with --no-overlap on the ring: 2/N, docs/masked-allreduce.md); protects against coalitions of up to 2K-1 ranks instead of N-2. Default: all pairs.")]
    public int? SecureNeighbours { get; set; }

    [Option("reproducible", HelpText = "ddp: bitwise the same model whatever the rank count (1, 2, 4, 8 ...) and transport, for a given global batch: each global batch is cut into --reproducible-parts fixed micro-batches, and their gradients are summed in an order that does not depend on the ranks (--reproducible-sum; docs/reproducible.md).")]
    public bool Reproducible { get; set; }

    [Option("reproducible-parts", Default = 8, HelpText = "ddp --reproducible: fixed micro-batches per global batch; the rank count must divide it (8 serves 1, 2, 4 and 8 ranks alike).")]
    public int ReproducibleParts { get; set; } = 8;

    [Option("reproducible-sum", Default = "tree", HelpText = "ddp --reproducible: how the micro-batch gradients are summed. tree (default, near ddp's speed): floats added in a fixed binary-tree order, by the gradient kernel within a rank and by recursive doubling or halving across ranks; needs --reproducible-parts and the rank count to be powers of two and --algorithm auto, rd or rh. exact: the binned fixed-point sum (slower), for any rank count that divides --reproducible-parts and any --algorithm, MPI_Allreduce included.")]
    public string ReproducibleSum { get; set; } = "tree";

    [Option("servers", Default = 1, HelpText = "ps: number of parameter-server ranks (the last K ranks); must be fewer than the ranks.")]
    public int Servers { get; set; } = 1;

    [Option("sync", HelpText = "ps: bulk-synchronous (servers apply the average of all workers' gradients each step). The default.")]
    public bool Sync { get; set; }

    [Option("async", HelpText = "ps: asynchronous (servers apply each worker's gradient as it arrives), staleness bounded by --staleness.")]
    public bool Async { get; set; }

    [Option("staleness", Default = 4, HelpText = "ps --async: how many steps the fastest worker may be ahead of the slowest.")]
    public int Staleness { get; set; } = 4;

    [Option("micro-batches", Default = 4, HelpText = "pipeline: GPipe micro-batches per global batch (at least 1, at most --batch-size).")]
    public int MicroBatches { get; set; } = 4;

    [Option("split", HelpText = "pipeline: dense layers per stage, comma-separated, one entry per rank (e.g. 2,1). Default: as even as possible.")]
    public string? Split { get; set; }

    [Option("stages", HelpText = "--strategy hybrid (pipeline stages x data-parallel replicas: ranks = S x R, GPipe inside each replica, each stage's gradients averaged over its R replicas) and --strategy downpour (DistBelief's Downpour SGD: model-parallel replicas pushing to a sharded asynchronous parameter server on the last --servers ranks): pipeline stages per replica, at most the dense layers (default 2 for hybrid, 1 for downpour). docs/hybrid.md.")]
    public int? Stages { get; set; }

    [Option("push-every", HelpText = "downpour: each replica accumulates its gradients and pushes them to the servers every N steps (Downpour's n_push; default 1).")]
    public int? PushEvery { get; set; }

    [Option("fetch-every", HelpText = "downpour: each replica fetches fresh parameters from the servers every N steps (Downpour's n_fetch; default 1).")]
    public int? FetchEvery { get; set; }

    [Option("checkpoint", Default = "train.ckpt", HelpText = "Checkpoint file, written atomically after every epoch (format: docs/checkpoint-format.md). Pass --no-checkpoint to skip.")]
    public string Checkpoint { get; set; } = "train.ckpt";

    [Option("no-checkpoint", HelpText = "Do not write checkpoints.")]
    public bool NoCheckpoint { get; set; }

    [Option("resume", HelpText = "Continue from the --checkpoint file: the epochs it completed are skipped.")]
    public bool Resume { get; set; }

    [Option("export-model", HelpText = "At the end of training, write model.ckpt and preprocess.json (the input standardization) into this NAME/VERSION directory of a Serve.dll model repository; VERSION must be a number.")]
    public string? ExportModel { get; set; }

    [Option("export-onnx", HelpText = "At the end of training, write the model as ONNX (opset 13) to this file: input 'input' [batch, features] of raw values (the preprocessing is in the graph), outputs 'probabilities' and 'class'. Serve.dll serves it as NAME/VERSION/model.onnx. With --resume and --epochs no higher than the checkpoint's, exports without training.")]
    public string? ExportOnnx { get; set; }

    [Option("extra-data", HelpText = "Also train on the labeled rows of this file (raw inputs, preprocessed like the training data; format in docs/lifecycle.md), e.g. the feedback a server collected (Lifecycle.dll trainer writes it).")]
    public string? ExtraData { get; set; }

    [Option("extra-weight", HelpText = "--extra-data: each of its rows is put into the training set this many times (an integer from 1 to 1000; default 1), so that a few recent labels count against the whole reference set.")]
    public int? ExtraWeight { get; set; }

    [Option("init-from", HelpText = "Start from this checkpoint's parameters (warm start; the layers must match) instead of seeded initialization; epochs, optimizer state and schedule start afresh. Not with --resume.")]
    public string? InitFrom { get; set; }

    [Option("topology", HelpText = "gossip: the graph whose neighbours average each step: ring (default), torus (rows x cols, needs a rank count that is a rectangle), exponential (neighbours at distances 2^k), complete (every pair, W = 1/n: exact averaging; with --gossip-every H this is local SGD) or random:K (each rank links to K seeded random others; connected). docs/gossip.md.")]
    public string? Topology { get; set; }

    [Option("gossip-every", HelpText = "gossip: average with the neighbours after every H local steps (default 1).")]
    public int? GossipEvery { get; set; }

    [Option("gossip-async", HelpText = "gossip: asynchronous averaging: mix with the newest neighbour replicas that arrived, waiting only for one older than --gossip-staleness rounds.")]
    public bool GossipAsync { get; set; }

    [Option("gossip-staleness", HelpText = "gossip --gossip-async: the oldest neighbour replica mixed may be this many rounds behind (default 2).")]
    public int? GossipStaleness { get; set; }

    [Option("log-json", HelpText = "Append one JSON record per epoch to this file (JSON lines).")]
    public string? LogJson { get; set; }

    [Option("quiet", HelpText = "Print only the final summary.")]
    public bool Quiet { get; set; }

    [Option("rounds", HelpText = "fedavg/fedprox/fedavgm: federated rounds to run in total, counting rounds already done when resuming (default 10; --epochs is not used by these strategies).")]
    public int? Rounds { get; set; }

    [Option("clients", HelpText = "fedavg/fedprox/fedavgm: simulated clients in the population, each owning a part of the training set (default 100). Each rank simulates its share of the sampled clients.")]
    public int? Clients { get; set; }

    [Option("clients-per-round", HelpText = "fedavg/fedprox/fedavgm: clients sampled each round, without replacement, seeded by (--seed, round) (default 10, or --clients if fewer).")]
    public int? ClientsPerRound { get; set; }

    [Option("partition", HelpText = "fedavg/fedprox/fedavgm: how the training set is split over the clients: iid (default), dirichlet:ALPHA (label skew, smaller alpha is more skewed, e.g. dirichlet:0.5), shards:S (sorted by label, S shards per client, e.g. shards:2).")]
    public string? Partition { get; set; }

    [Option("local-epochs", HelpText = "fedavg/fedprox/fedavgm: passes a sampled client makes over its own data each round (default 1).")]
    public int? LocalEpochs { get; set; }

    [Option("local-batch", HelpText = "fedavg/fedprox/fedavgm: a client's mini-batch size (default 32). The client learning rate is --lr (default 0.05), its momentum --momentum (default 0 for these strategies).")]
    public int? LocalBatch { get; set; }

    [Option("mu", HelpText = "fedprox: weight of the proximal term (mu/2)||w - w_global||^2 in each client's loss (default 0.01).")]
    public float? Mu { get; set; }

    [Option("server-lr", HelpText = "fedavg/fedprox/fedavgm: the server's learning rate on the weighted mean update (default 1: the new model is the weighted mean of the client models).")]
    public float? ServerLr { get; set; }

    [Option("server-momentum", HelpText = "fedavgm: momentum of the server's update in [0, 1) (default 0.9).")]
    public float? ServerMomentum { get; set; }

    [Option("dropout", HelpText = "fedavg/fedprox/fedavgm: probability in [0, 1) that a sampled client fails to report its update, drawn per round and client from --seed; the round averages the survivors (default 0).")]
    public double? Dropout { get; set; }

    [Option("secure-aggregation", HelpText = "fedavg/fedprox/fedavgm: aggregate the clients' updates with secure aggregation (Bonawitz et al. 2017; SecAgg+ with --secagg-neighbors): the server (rank 0) learns only the sum of the survivors' quantized weighted updates. docs/federated.md, section Secure aggregation.")]
    public bool SecureAggregation { get; set; }

    [Option("secagg-neighbors", HelpText = "--secure-aggregation: SecAgg+ with k neighbours per client (even; odd is rounded up; at least 2); 0 = full SecAgg, every client with every other (default 0).")]
    public int? SecAggNeighbors { get; set; }

    [Option("secagg-threshold", HelpText = "--secure-aggregation: t, the Shamir threshold and the fewest clients that must survive every stage; more than half of the share group (clients per round, or k + 1 with SecAgg+) and at most the group (default: half the group plus one).")]
    public int? SecAggThreshold { get; set; }

    [Option("secagg-clip", HelpText = "--secure-aggregation: each element of a client's model delta is clipped to [-C, C] before it is weighted by the client's sample count and quantized (default 1).")]
    public float? SecAggClip { get; set; }

    [Option("secagg-bits", HelpText = "--secure-aggregation: fixed-point fractional bits, 0..30 (default: the most that cannot overflow 2^32 for the clients per round and the clip range); refused when the sum could overflow.")]
    public int? SecAggBits { get; set; }

    [Option("secagg-unmask-dropout", HelpText = "--secure-aggregation: probability in [0, 1) that a client whose masked input reached the server drops before the unmasking stage (its update stays in the sum; the protocol recovers its mask from the others' shares) (default 0).")]
    public double? SecAggUnmaskDropout { get; set; }

    [Option("dp", HelpText = "Example-level DP-SGD (ddp, zero, ps --sync): Poisson sampling with q = --batch-size / N, per-example gradients clipped to --dp-clip, Gaussian noise of std sigma*C on the global sum, epsilon at --dp-delta reported every epoch and recorded in privacy-ledger.jsonl next to the checkpoint (docs/privacy-accounting.md).")]
    public bool Dp { get; set; }

    [Option("dp-clip", HelpText = "--dp: per-example L2 clipping norm C > 0 (default 1).")]
    public double? DpClip { get; set; }

    [Option("dp-noise", HelpText = "--dp: noise multiplier sigma >= 0 (the noise std on the summed gradient is sigma*C). Give this or --dp-epsilon.")]
    public double? DpNoise { get; set; }

    [Option("dp-epsilon", HelpText = "--dp: target epsilon at --dp-delta after all --epochs; sigma is computed for the planned steps (Opacus' get_noise_multiplier). Give this or --dp-noise.")]
    public double? DpEpsilon { get; set; }

    [Option("dp-delta", HelpText = "--dp: delta of every reported epsilon, in (0, 1) (default 1e-5; use less than 1/N).")]
    public double? DpDelta { get; set; }

    [Option("dp-budget", HelpText = "--dp or --client-dp: the data set's epsilon budget over all runs recorded in the privacy ledger (privacy-ledger.jsonl beside the checkpoint); a run whose plan would exceed it is refused before training.")]
    public double? DpBudget { get; set; }

    [Option("dp-secure-rng", HelpText = "--dp: draw every noise sample from the OS's cryptographically secure generator (Opacus' secure_mode); default: Philox keyed from it.")]
    public bool DpSecureRng { get; set; }

    [Option("client-dp", HelpText = "fedavg/fedprox/fedavgm: client-level (user-level) differential privacy, DP-FedAvg: each client's model delta is clipped to L2 norm --client-dp-clip, Gaussian noise is added to the sum, and the mean divides by the fixed clients per round. Give --client-dp-noise Z or --client-dp-epsilon EPS. docs/client-level-dp.md.")]
    public bool ClientDp { get; set; }

    [Option("client-dp-clip", HelpText = "--client-dp: the L2 clip norm C of each client's (unweighted) model delta; with --client-dp-adaptive its starting value (default 1, or 0.1 with --client-dp-adaptive).")]
    public double? ClientDpClip { get; set; }

    [Option("client-dp-noise", HelpText = "--client-dp: noise multiplier z: the sum of clipped updates gets N(0, z^2 C^2) per element (with --client-dp-adaptive, z is the total of the update and count noise). 0 clips without noise (epsilon infinite).")]
    public double? ClientDpNoise { get; set; }

    [Option("client-dp-epsilon", HelpText = "--client-dp: the user-level epsilon to reach after --rounds rounds at --client-dp-delta; z is computed for it (instead of --client-dp-noise).")]
    public double? ClientDpEpsilon { get; set; }

    [Option("client-dp-delta", HelpText = "--client-dp: delta of every reported epsilon, in (0, 1) (default 1e-5).")]
    public double? ClientDpDelta { get; set; }

    [Option("client-dp-noise-at", HelpText = "--client-dp: who adds the noise: server (to the aggregate; default) or clients (each adds 1/T of the variance, T = --client-dp-min-clients, so the noise is in a secure-aggregation sum although nobody saw it added).")]
    public string? ClientDpNoiseAt { get; set; }

    [Option("client-dp-min-clients", HelpText = "--client-dp-noise-at clients: T, the fewest clients whose shares together make the whole noise; a round whose sum holds fewer is aborted (default: the --secagg-threshold with --secure-aggregation, else --clients-per-round).")]
    public int? ClientDpMinClients { get; set; }

    [Option("client-dp-adaptive", HelpText = "--client-dp: adaptive clipping (Andrew et al. 2021): the clip norm follows the --client-dp-quantile of the update norms, estimated from a noised count of clipped clients.")]
    public bool ClientDpAdaptive { get; set; }

    [Option("client-dp-quantile", HelpText = "--client-dp-adaptive: target quantile gamma in (0, 1) of the update norms (default 0.5).")]
    public double? ClientDpQuantile { get; set; }

    [Option("client-dp-clip-lr", HelpText = "--client-dp-adaptive: learning rate eta_C of the geometric clip update C *= exp(-eta_C (clipped fraction - gamma)) (default 0.2).")]
    public double? ClientDpClipLr { get; set; }

    [Option("client-dp-count-noise", HelpText = "--client-dp-adaptive: sigma_b, std of the noise on the sum of clipped-count bits (default clients-per-round / 20); must exceed z / 2.")]
    public double? ClientDpCountNoise { get; set; }

    [Option("client-dp-secure-rng", HelpText = "--client-dp: draw the noise from the operating system's CSPRNG (as Opacus' secure_mode) instead of the seeded stream (reproducible, but whoever knows --seed can remove the noise).")]
    public bool ClientDpSecureRng { get; set; }

    [Option("aggregator", HelpText = "fedavg/fedprox/fedavgm: how the server combines the clients' updates: mean (default: the sample-weighted mean), median, trimmed-mean:BETA, krum:F, multikrum:F,M, bulyan:F or norm-bound:C (docs/robust-aggregation.md). Refused when the clients per round are below the rule's limit (krum n >= 2f+3, bulyan n >= 4f+3).")]
    public string? Aggregator { get; set; }

    [Option("attack", HelpText = "fedavg/fedprox/fedavgm/p2p-ledger, and gossip (signflip, scale, gaussian: applied to the attacker's own local steps; docs/gossip.md): the malicious clients' attack, with --malicious: signflip[:K] (report -K x the delta, K = 1), scale:K, labelflip (train on labels C-1-y), gaussian[:S] (N(0, S^2) elements, S = 1) or alie[:Z] (A Little Is Enough: mean - z std of the benign deltas; z from the paper by default).")]
    public string? Attack { get; set; }

    [Option("malicious", HelpText = "--attack: the malicious clients, as a fraction of --clients (e.g. 0.2) or a count (e.g. 20); chosen by --seed, fixed for the run.")]
    public string? Malicious { get; set; }

    [Option("secure-groups", HelpText = "--secure-aggregation with --aggregator: secure aggregation inside random groups of G clients each round, then the robust rule over the group means (the server learns each group's sum; f in the rule counts groups).")]
    public int? SecureGroups { get; set; }

    [Option("ledger-dir", HelpText = "p2p-ledger: directory of each peer's ledger file (peer-N.ledger, append-only, fsynced) and signing key (peer-N.key); a rerun with the same directory continues the ledger (default ledger).")]
    public string? LedgerDir { get; set; }

    [Option("ledger-timeout", HelpText = "p2p-ledger: seconds a protocol step waits for a peer before dropping it from the round (step k of the round waits k times this) (default 30).")]
    public double? LedgerTimeout { get; set; }

    [Option("ledger-verifiers", HelpText = "p2p-ledger: verifiers drawn by stake each round; they run Multi-Krum and sign the accepted updates; a block needs more than half of their signatures (default min(3, peers)).")]
    public int? LedgerVerifiers { get; set; }

    [Option("ledger-aggregators", HelpText = "p2p-ledger: aggregators drawn by stake each round; each holds one Shamir share of every accepted update, more than half of them rebuild the sum (default min(3, peers)).")]
    public int? LedgerAggregators { get; set; }

    [Option("ledger-noise", HelpText = "p2p-ledger: standard deviation of the Gaussian noise the noisers add to each delta element the verifiers see (default 0: no noise).")]
    public double? LedgerNoise { get; set; }

    [Option("ledger-noisers", HelpText = "p2p-ledger --ledger-noise: noisers drawn by stake each round (default min(2, peers)).")]
    public int? LedgerNoisers { get; set; }

    [Option("ledger-krum-f", HelpText = "p2p-ledger: f of the verifiers' Multi-Krum: the n - f best-scored updates are accepted (default (peers - 3) / 2).")]
    public int? LedgerKrumF { get; set; }

    [Option("ledger-stake", HelpText = "p2p-ledger: every peer's stake in genesis; each update that enters a block adds 1 (default 10).")]
    public long? LedgerStake { get; set; }

    [Option("ledger-late-peer", HelpText = "p2p-ledger simulation: RANK:SECONDS: that peer takes part in genesis, is away for SECONDS (the others drop it after --ledger-timeout), then fetches and verifies the ledger from a neighbour and joins; RANK@BLOCKS: away until a neighbour answers with BLOCKS blocks, so it joins at round BLOCKS + 1 whatever the timing.")]
    public string? LedgerLatePeer { get; set; }

    [Option("ledger-tamper", HelpText = "p2p-ledger simulation: this peer, when an aggregator, proposes blocks whose delta it changed after hashing; honest peers refuse them, naming the block and the peer.")]
    public int? LedgerTamper { get; set; }

    [Option("ledger-miss-block", HelpText = "p2p-ledger simulation: ROUND:RANK[,RANK...]: in that round those peers append the empty block, as a missed deadline under load makes them; the fork is resolved at the end of the round (docs/ledger.md, Forks).")]
    public string? LedgerMissBlock { get; set; }
}
