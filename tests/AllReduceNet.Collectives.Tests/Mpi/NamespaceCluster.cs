using System.Diagnostics;

namespace AllReduceNet.Collectives.Tests.Mpi;

/// <summary>
/// The two-host cluster of scripts/cluster (network namespaces arnh1 and arnh2, hostnames of their own, a bridge) as
/// the tests use it: brought up once for the test class, taken down after it, and the mpiexec command lines that reach
/// it through the netns-ssh shim with MPI's traffic forced onto TCP over the veth links.
/// </summary>
public sealed class NamespaceCluster : IDisposable
{
    /// <summary>
    /// ARN_CLUSTER_PREFIX and ARN_CLUSTER_SUBNET, as scripts/cluster reads them (arn, 10.213.0 by default): engineers
    /// sharing a machine run the cluster tests on clusters of their own names and addresses.
    /// </summary>
    public static readonly string Prefix = Setting("ARN_CLUSTER_PREFIX", "arn");
    public static readonly string Subnet = Setting("ARN_CLUSTER_SUBNET", "10.213.0");
    public static readonly string Host1 = $"{Subnet}.11";
    public static readonly string Host2 = $"{Subnet}.12";
    /// <summary>The host side of host 2's link: where the tests put netem or cut the link.</summary>
    public static readonly string Host2Link = $"{Prefix}v2";
    /// <summary>The hostnames of the two hosts (their UTS namespaces').</summary>
    public static readonly string HostName1 = $"{Prefix}h1", HostName2 = $"{Prefix}h2";

    private static string Setting(string name, string fallback) =>
        Environment.GetEnvironmentVariable(name) is { Length: > 0 } value ? value : fallback;

    private static readonly string Scripts = Path.Combine(RepositoryRoot, "scripts", "cluster");

    public NamespaceCluster()
    {
        if (SkipReason is not null) return;
        var up = Shell(Path.Combine(Scripts, "netns-cluster.sh"), "up");
        if (up.ExitCode != 0) throw new InvalidOperationException($"scripts/cluster/netns-cluster.sh up failed: {up.Output}");
    }

    /// <summary>Why the cluster cannot be made here (not root, iproute2 or util-linux missing), or null.</summary>
    public static string? SkipReason { get; } = FindSkipReason();

    private static string? FindSkipReason()
    {
        if (!OperatingSystem.IsLinux()) return "the two-host cluster needs Linux network namespaces";
        if (Environment.UserName != "root" && Shell("id", "-u").Output.Trim() != "0")
            return "the two-host cluster needs root (it creates network namespaces, veth links and a bridge); run the tests as root or in a privileged container";
        foreach (var tool in new[] { "ip", "tc", "unshare", "nsenter", "nft" })
            if (MpiJob.Find(tool) is null && !File.Exists($"/usr/sbin/{tool}") && !File.Exists($"/sbin/{tool}"))
                return $"{tool} is not installed (Debian: apt-get install iproute2 util-linux nftables), so the two-host cluster cannot be made";
        return null;
    }

    internal static string RepositoryRoot
    {
        get
        {
            var dir = new DirectoryInfo(AppContext.BaseDirectory);
            while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "AllReduceNet.sln"))) dir = dir.Parent;
            return dir?.FullName ?? throw new InvalidOperationException($"no AllReduceNet.sln above {AppContext.BaseDirectory}");
        }
    }

    /// <summary>
    /// Open MPI across the hosts: daemons started through the shim, TCP only (ob1 with the tcp BTL on the cluster's
    /// subnet; vader between ranks of one host), <paramref name="ranksPerHost"/> slots on each host.
    /// </summary>
    public static (string Launcher, string Arguments, Dictionary<string, string> Environment) OpenMpi(int ranksPerHost, string hostfileDirectory)
    {
        string hostfile = Path.Combine(hostfileDirectory, $"hosts-openmpi-{ranksPerHost}");
        File.WriteAllText(hostfile, $"{Host1} slots={ranksPerHost}\n{Host2} slots={ranksPerHost}\n");
        string args = $"--oversubscribe --hostfile {hostfile} --mca plm_rsh_agent {Path.Combine(Scripts, "netns-ssh")} " +
                      $"--mca pml ob1 --mca btl tcp,self,vader --mca btl_tcp_if_include {Subnet}.0/24 --mca oob_tcp_if_include {Subnet}.0/24 " +
                      $"-n {2 * ranksPerHost}";
        return (MpiJob.OpenMpi, args, new Dictionary<string, string> { ["OMPI_ALLOW_RUN_AS_ROOT"] = "1", ["OMPI_ALLOW_RUN_AS_ROOT_CONFIRM"] = "1" });
    }

    /// <summary>
    /// MPICH (hydra) across the hosts: proxies started through the shim, control traffic on the bridge, UCX limited to
    /// TCP on eth0 between hosts (and its shared-memory transports between ranks of one host). With
    /// <paramref name="mpiPointToPointBetweenHosts"/> the collectives' messages between the hosts go through MPI (UCX)
    /// instead of the transport's own sockets (ALLREDUCENET_MPI_SOCKETS=0).
    /// </summary>
    public static (string Launcher, string Arguments, Dictionary<string, string> Environment) Mpich(int ranksPerHost, string hostfileDirectory, bool mpiPointToPointBetweenHosts = false)
    {
        string hostfile = Path.Combine(hostfileDirectory, $"hosts-mpich-{ranksPerHost}");
        File.WriteAllText(hostfile, $"{Host1}:{ranksPerHost}\n{Host2}:{ranksPerHost}\n");
        string args = $"-launcher ssh -launcher-exec {Path.Combine(Scripts, "netns-ssh")} -f {hostfile} -iface {Prefix}br0 " +
                      (mpiPointToPointBetweenHosts ? "-genv ALLREDUCENET_MPI_SOCKETS 0 " : "") +
                      $"-genv UCX_TLS tcp,self,sysv,posix -genv UCX_NET_DEVICES eth0 -n {2 * ranksPerHost}";
        return (MpiJob.Mpich, args, new Dictionary<string, string>());
    }

    /// <summary>Runs a command (as root) and returns its exit code and output; used for ip and tc.</summary>
    public static (int ExitCode, string Output) Shell(string file, string arguments)
    {
        var info = new ProcessStartInfo(file, arguments) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        using var process = Process.Start(info)!;
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        if (!process.WaitForExit(TimeSpan.FromSeconds(60))) { process.Kill(entireProcessTree: true); return (-1, $"{file} {arguments}: killed after 60 s"); }
        return (process.ExitCode, output.Result + error.Result);
    }

    private static string Ssh => Path.Combine(Scripts, "netns-ssh");

    /// <summary>
    /// Degrades host 2's link: netem delay 5ms loss 1% where the kernel has sch_netem; else 1% loss each way with an
    /// nftables table in host 2 (numgen random) and a tbf rate limit. Returns what it applied.
    /// </summary>
    public static string DegradeHost2Link()
    {
        var netem = Shell("tc", $"qdisc replace dev {Host2Link} root netem delay 5ms loss 1%");
        if (netem.ExitCode == 0) return "tc netem delay 5ms loss 1%";
        var tbf = Shell("tc", $"qdisc replace dev {Host2Link} root tbf rate 200mbit burst 256kb latency 50ms");
        if (tbf.ExitCode != 0) throw new InvalidOperationException($"neither netem ({netem.Output.Trim()}) nor tbf ({tbf.Output.Trim()}) could be set on {Host2Link}");
        var nft = Shell(Ssh, $"{Host2} nft add table inet arnfault && " +
            "nft add chain inet arnfault input '{ type filter hook input priority 0; }' && nft add rule inet arnfault input numgen random mod 100 '<' 1 counter drop && " +
            "nft add chain inet arnfault output '{ type filter hook output priority 0; }' && nft add rule inet arnfault output numgen random mod 100 '<' 1 counter drop");
        if (nft.ExitCode != 0) throw new InvalidOperationException($"netem is missing ({netem.Output.Trim()}) and nftables could not drop packets in host 2: {nft.Output}");
        return $"netem unavailable ({netem.Output.Trim()}): 1% loss each way by nftables in host 2, tbf 200 Mbit/s on {Host2Link}";
    }

    /// <summary>Packets the degraded link dropped (netem's or nftables' counters); null when it cannot tell.</summary>
    public static long? Host2PacketsDropped()
    {
        var qdisc = Shell("tc", $"-s qdisc show dev {Host2Link}").Output;
        if (qdisc.Contains("netem"))
        {
            var dropped = System.Text.RegularExpressions.Regex.Match(qdisc, @"dropped (\d+)");
            return dropped.Success ? long.Parse(dropped.Groups[1].Value) : null;
        }
        var rules = Shell(Ssh, $"{Host2} nft list table inet arnfault").Output;
        return System.Text.RegularExpressions.Regex.Matches(rules, @"counter packets (\d+)").Sum(m => long.Parse(m.Groups[1].Value));
    }

    /// <summary>Puts host 2's link back as it was: no qdisc, no nftables table, link up, and waits until host 2 reaches the bridge again.</summary>
    public static void RestoreLink()
    {
        Shell("tc", $"qdisc del dev {Host2Link} root");
        Shell(Ssh, $"{Host2} nft delete table inet arnfault");
        Shell("ip", $"link set {Host2Link} up");
        var until = DateTime.UtcNow + TimeSpan.FromSeconds(10);
        while (DateTime.UtcNow < until && Shell(Path.Combine(Scripts, "netns-ssh"), $"{Host2} ip neigh flush all").ExitCode != 0) Thread.Sleep(200);
    }

    public void Dispose()
    {
        if (SkipReason is not null) return;
        RestoreLink();
        Shell(Path.Combine(Scripts, "netns-cluster.sh"), "down");
    }
}

/// <summary>A fact that needs the two-host cluster and the named MPI launchers; skipped, with the reason, where either is missing.</summary>
[AttributeUsage(AttributeTargets.Method)]
public sealed class ClusterFactAttribute : FactAttribute
{
    public ClusterFactAttribute(params string[] launchers) => Skip = NamespaceCluster.SkipReason ?? MpiFactAttribute.SkipReason(launchers);
}
