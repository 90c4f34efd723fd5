using System.Text.RegularExpressions;
using System.Xml.Linq;

namespace AllReduceNet.Serving.Tests;

/// <summary>What can be checked of deploy/ without a container engine (no linter is packaged here): every COPY
/// source exists and is inside the build context, the ENTRYPOINT is the file that publish produces, the server's
/// image is non-root with its health check on /v2/health/ready, and compose names files that exist.</summary>
public sealed class ContainerFileTests
{
    public static TheoryData<string, string, string> Services => new()
    {
        // Dockerfile, the project it publishes, the folder deploy/build-local-image.sh (or the docs) publish it to.
        { "Dockerfile.serving", "src/Serving/AllReduceNet.Serving.csproj", "deploy/publish/serving" },
        { "Dockerfile.training", "src/Training/AllReduceNet.Training.csproj", "deploy/publish/training" },
    };

    [Theory]
    [MemberData(nameof(Services))]
    public void Every_COPY_source_exists_or_is_the_host_publish_folder(string dockerfile, string project, string hostPublish)
    {
        var file = Dockerfile.Read(RepositoryRoot.File("deploy", dockerfile));
        string[] ignored = DockerIgnorePatterns();
        foreach (var copy in file.All("COPY").Where(c => !c.Arguments.StartsWith("--from=", StringComparison.Ordinal)))
        {
            string[] words = copy.Arguments.Split(' ', StringSplitOptions.RemoveEmptyEntries).Where(w => !w.StartsWith("--", StringComparison.Ordinal)).ToArray();
            Assert.True(words.Length >= 2, $"{dockerfile}: COPY {copy.Arguments} needs a source and a destination");
            foreach (string source in words[..^1])
            {
                string trimmed = source.TrimEnd('/');
                if (trimmed == hostPublish)
                    Assert.Equal("app-host", copy.Stage);
                else
                    Assert.True(File.Exists(RepositoryRoot.File(trimmed)) || Directory.Exists(RepositoryRoot.File(trimmed)),
                        $"{dockerfile}: COPY source '{source}' does not exist under the repository root (the build context)");
                Assert.DoesNotContain(ignored, pattern => Excludes(pattern, trimmed));
            }
        }
        // The project the build stage publishes exists.
        var publish = Assert.Single(file.All("RUN"), r => r.Arguments.Contains("dotnet publish", StringComparison.Ordinal));
        Assert.Equal("app-build", publish.Stage);
        Assert.Contains(project, publish.Arguments, StringComparison.Ordinal);
        Assert.Contains("--self-contained", publish.Arguments, StringComparison.Ordinal);
        Assert.True(File.Exists(RepositoryRoot.File(project)), $"{project} is missing");
    }

    [Theory]
    [MemberData(nameof(Services))]
    public void The_ENTRYPOINT_is_the_apphost_that_publish_produces(string dockerfile, string project, string hostPublish)
    {
        _ = hostPublish;
        var file = Dockerfile.Read(RepositoryRoot.File("deploy", dockerfile));
        string[] entrypoint = Dockerfile.ExecForm(file.Single("ENTRYPOINT").Arguments, $"{dockerfile} ENTRYPOINT");
        string assemblyName = XDocument.Load(RepositoryRoot.File(project)).Descendants("AssemblyName").Single().Value;
        // A self-contained publish for linux-x64 writes an apphost named after the assembly next to its dll.
        Assert.Equal("/app/" + assemblyName, entrypoint[0]);
        Assert.Contains(file.InFinalStage("COPY"), c => c.Arguments.StartsWith("--from=app ", StringComparison.Ordinal) && c.Arguments.EndsWith(" /app/", StringComparison.Ordinal));
    }

    [Theory]
    [MemberData(nameof(Services))]
    public void Both_build_paths_exist_and_the_final_stage_is_non_root_on_BASE_IMAGE(string dockerfile, string project, string hostPublish)
    {
        _ = (project, hostPublish);
        var file = Dockerfile.Read(RepositoryRoot.File("deploy", dockerfile));
        var stages = file.All("FROM").Select(f => f.Stage).ToArray();
        Assert.Contains("app-build", stages);
        Assert.Contains("app-host", stages);
        Assert.Contains(file.All("FROM"), f => f.Arguments == "app-${APP_SOURCE} AS app");
        Assert.Equal("${BASE_IMAGE}", file.All("FROM").Last().Arguments);
        Assert.Contains(file.Instructions.TakeWhile(i => i.Keyword != "FROM"), i => i.Keyword == "ARG" && i.Arguments.StartsWith("BASE_IMAGE=", StringComparison.Ordinal));
        Assert.Contains(file.Instructions.TakeWhile(i => i.Keyword != "FROM"), i => i.Keyword == "ARG" && i.Arguments == "APP_SOURCE=build");

        string user = file.Single("USER").Arguments;
        string uid = file.InFinalStage("ARG").Select(a => a.Arguments).Single(a => a.StartsWith("APP_UID=", StringComparison.Ordinal))["APP_UID=".Length..];
        Assert.Equal("${APP_UID}:${APP_UID}", user);
        Assert.True(int.Parse(uid, System.Globalization.CultureInfo.InvariantCulture) > 0, $"{dockerfile}: APP_UID {uid} is root");
        Assert.Equal("/models", file.Single("VOLUME").Arguments);
        // USER comes after everything that needs root.
        var final = file.Instructions.Where(i => i.StageIndex == file.Instructions.Max(x => x.StageIndex)).ToList();
        Assert.True(final.FindLastIndex(i => i.Keyword == "RUN") < final.FindIndex(i => i.Keyword == "USER"), $"{dockerfile}: a RUN after USER");
    }

    [Fact]
    public void The_server_image_listens_on_all_interfaces_of_the_exposed_port_and_checks_readiness()
    {
        var file = Dockerfile.Read(RepositoryRoot.File("deploy", "Dockerfile.serving"));
        string[] entrypoint = Dockerfile.ExecForm(file.Single("ENTRYPOINT").Arguments, "ENTRYPOINT");
        Assert.Equal(["/app/Serve", "--models", "/models", "--urls", "http://0.0.0.0:8000"], entrypoint);
        Assert.Equal("8000", file.Single("EXPOSE").Arguments);

        string healthcheck = file.Single("HEALTHCHECK").Arguments;
        var match = Regex.Match(healthcheck, @"CMD (\[.*\])$");
        Assert.True(match.Success, $"HEALTHCHECK has no exec-form CMD: {healthcheck}");
        string[] check = Dockerfile.ExecForm(match.Groups[1].Value, "HEALTHCHECK CMD");
        Assert.Equal(["/app/Serve", HealthCheckCommand.Switch, "http://127.0.0.1:8000/v2/health/ready"], check);
        // Its timeout outlasts the command's own, so the command reports before the engine kills it.
        var timeout = Regex.Match(healthcheck, @"--timeout=(\d+)s");
        Assert.True(timeout.Success && int.Parse(timeout.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture) > HealthCheckCommand.DefaultTimeout.TotalSeconds,
            $"HEALTHCHECK --timeout must exceed the check's own {HealthCheckCommand.DefaultTimeout.TotalSeconds} s: {healthcheck}");
    }

    [Fact]
    public void Compose_builds_both_Dockerfiles_and_shares_the_model_volume()
    {
        string compose = File.ReadAllText(RepositoryRoot.File("deploy", "compose.yaml"));
        var dockerfiles = Regex.Matches(compose, @"^\s*dockerfile:\s*(\S+)\s*$", RegexOptions.Multiline).Select(m => m.Groups[1].Value).ToArray();
        Assert.Equal(["deploy/Dockerfile.training", "deploy/Dockerfile.serving"], dockerfiles);
        foreach (string context in Regex.Matches(compose, @"^\s*context:\s*(\S+)\s*$", RegexOptions.Multiline).Select(m => m.Groups[1].Value))
            Assert.Equal(RepositoryRoot.Path, Path.GetFullPath(Path.Combine(RepositoryRoot.File("deploy"), context)));
        Assert.Contains("- models:/models\n", compose, StringComparison.Ordinal);
        Assert.Contains("- models:/models:ro\n", compose, StringComparison.Ordinal);
        Assert.Contains("condition: service_completed_successfully", compose, StringComparison.Ordinal);
        Assert.Contains("\"--export-model\", \"/models/fashion/1\"", compose, StringComparison.Ordinal);
    }

    [Fact]
    public void The_local_image_script_publishes_where_the_Dockerfile_copies_from()
    {
        string script = File.ReadAllText(RepositoryRoot.File("deploy", "build-local-image.sh"));
        Assert.Contains("-o deploy/publish/serving", script, StringComparison.Ordinal);
        Assert.Contains("-f deploy/Dockerfile.serving", script, StringComparison.Ordinal);
        Assert.Contains("--build-arg APP_SOURCE=host", script, StringComparison.Ordinal);
        Assert.Contains("--format docker", script, StringComparison.Ordinal);
    }

    private static string[] DockerIgnorePatterns() =>
        File.ReadAllLines(RepositoryRoot.File(".dockerignore")).Select(l => l.Trim()).Where(l => l.Length > 0 && !l.StartsWith('#')).ToArray();

    /// <summary>Whether an ignore pattern of the two shapes used here (<c>dir/</c> or <c>**/dir/</c>, <c>*.ext</c>)
    /// takes a path, or anything under it, out of the build context.</summary>
    private static bool Excludes(string pattern, string path)
    {
        string[] segments = path.Split('/');
        if (pattern.StartsWith("**/", StringComparison.Ordinal)) return segments.Contains(pattern[3..].TrimEnd('/'));
        if (pattern.StartsWith("*.", StringComparison.Ordinal)) return path.EndsWith(pattern[1..], StringComparison.Ordinal);
        string prefix = pattern.TrimEnd('/');
        return path == prefix || path.StartsWith(prefix + "/", StringComparison.Ordinal);
    }
}
