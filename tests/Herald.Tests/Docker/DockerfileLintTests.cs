using System.Text.RegularExpressions;
using Herald.Proxy.Inject;
using Herald.Tests.TestSupport.EndToEnd;
using Xunit;

namespace Herald.Tests.Docker;

/// <summary>
/// No container engine runs here, so the images are linted instead of built: pinned bases,
/// a non-root final stage without build tools, exec-form commands (the final base has no
/// shell), a health check, Istio's ports, and the executable path the injected pods call.
/// </summary>
public sealed partial class DockerfileLintTests
{
    // Istio's conventions (15001 outbound, 15006 inbound, 15010 xDS, 15014 control plane
    // HTTP, 15020/15021/15090 agent, health and Prometheus).
    private static readonly HashSet<int> IstioPorts = [15001, 15006, 15010, 15014, 15020, 15021, 15090];

    private static readonly string[] BuildTools = ["dotnet", "npm", "node", "nodejs", "gcc", "g++", "make", "build-essential", "git", "clang", "cmake"];

    public static string DockerDirectory => Path.Combine(RepoPaths.Root, "docker");

    private static DockerfileModel Sidecar => DockerfileModel.Load(Path.Combine(DockerDirectory, "Dockerfile"));

    private static DockerfileModel Init => DockerfileModel.Load(Path.Combine(DockerDirectory, "Dockerfile.init"));

    public static TheoryData<string> Dockerfiles() => new("Dockerfile", "Dockerfile.init");

    [Theory]
    [MemberData(nameof(Dockerfiles))]
    public void BaseImages_EveryStage_PinnedToAnExactVersion(string file)
    {
        var model = DockerfileModel.Load(Path.Combine(DockerDirectory, file));
        var stageNames = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
        foreach (var stage in model.Stages)
        {
            if (!stageNames.Contains(stage.From))
            {
                AssertPinned(stage.From, $"{file}:{stage.Line}");
            }

            if (stage.Name is not null)
            {
                stageNames.Add(stage.Name);
            }
        }
    }

    [Fact]
    public void SidecarImage_FinalStage_RunsAsTheProxyUser()
    {
        var users = Sidecar.Final.All("USER").ToList();

        Assert.NotEmpty(users);
        Assert.Equal($"{HeraldContainers.ProxyUid}:{HeraldContainers.ProxyUid}", users[^1].Arguments);
    }

    [Fact]
    public void InitImage_FinalStage_RootSaidExplicitly()
    {
        // iptables needs root; saying so keeps a base image's own USER from breaking it.
        Assert.Equal("0:0", Init.Final.All("USER").Last().Arguments);
    }

    [Theory]
    [MemberData(nameof(Dockerfiles))]
    public void FinalStage_NoSdkAndNoBuildTools(string file)
    {
        var final = DockerfileModel.Load(Path.Combine(DockerDirectory, file)).Final;

        Assert.DoesNotContain("/sdk", final.From, StringComparison.OrdinalIgnoreCase);
        foreach (var run in final.All("RUN"))
        {
            var words = run.Arguments.Split([' ', '\t', ';', '&', '|'], StringSplitOptions.RemoveEmptyEntries);
            var tool = words.FirstOrDefault(w => BuildTools.Contains(w, StringComparer.Ordinal));
            Assert.True(tool is null, $"{file}:{run.Line}: the final stage runs or installs the build tool '{tool}'");
        }
    }

    [Fact]
    public void SidecarImage_FinalStage_NoRunSinceTheBaseHasNoShell()
    {
        Assert.Contains("chiseled", Sidecar.Final.From, StringComparison.Ordinal);
        Assert.Empty(Sidecar.Final.All("RUN"));
    }

    [Fact]
    public void InitImage_InstallsIptablesAndNftables()
    {
        var runs = string.Join('\n', Init.Final.All("RUN").Select(r => r.Arguments));

        Assert.Matches(@"apt-get install .*\biptables\b", runs);
        Assert.Matches(@"apt-get install .*\bnftables\b", runs);
        Assert.Contains("rm -rf /var/lib/apt/lists", runs, StringComparison.Ordinal);
    }

    [Theory]
    [MemberData(nameof(Dockerfiles))]
    public void FinalStage_EntrypointIsTheExecutableInjectedPodsCall(string file)
    {
        var final = DockerfileModel.Load(Path.Combine(DockerDirectory, file)).Final;

        var entrypoint = DockerInstruction.ExecForm(final.All("ENTRYPOINT").Single().Arguments);
        Assert.Equal([InjectOptions.Executable], entrypoint);
        Assert.Contains(final.All("COPY"), c => c.Arguments.TrimEnd().EndsWith(" " + InjectOptions.Executable, StringComparison.Ordinal));
        Assert.NotNull(DockerInstruction.ExecForm(final.All("CMD").Single().Arguments));
    }

    [Fact]
    public void SidecarImage_Healthcheck_PollsReadyWithHeraldWait()
    {
        var check = Sidecar.Final.All("HEALTHCHECK").Single().Arguments;
        var cmd = check.IndexOf("CMD ", StringComparison.Ordinal);

        Assert.True(cmd >= 0, check);
        Assert.Equal([InjectOptions.Executable, "wait", "--timeout", "2s"], DockerInstruction.ExecForm(check[(cmd + 4)..]));
        Assert.Matches(@"--timeout=\d+s", check);
    }

    [Fact]
    public void SidecarImage_ExposesOnlyIstiosPorts()
    {
        var ports = Sidecar.Final.All("EXPOSE").SelectMany(e => e.Arguments.Split(' ', StringSplitOptions.RemoveEmptyEntries)).Select(p => int.Parse(p.Split('/')[0])).ToList();

        Assert.Contains(15001, ports);
        Assert.Contains(15006, ports);
        Assert.All(ports, p => Assert.Contains(p, IstioPorts));
        Assert.DoesNotContain(15000, ports);
    }

    [Fact]
    public void SidecarImage_Build_PublishesSelfContainedReadyToRunTrimmedLinuxX64()
    {
        var publish = Sidecar.Stages[0].All("RUN").Single(r => r.Arguments.Contains("dotnet publish", StringComparison.Ordinal)).Arguments;

        Assert.Contains("-r linux-x64", publish, StringComparison.Ordinal);
        Assert.Contains("--self-contained", publish, StringComparison.Ordinal);
        Assert.Contains("-p:PublishReadyToRun=true", publish, StringComparison.Ordinal);
        Assert.Contains("-p:PublishTrimmed=true", publish, StringComparison.Ordinal);
        Assert.Contains("-p:PublishSingleFile=true", publish, StringComparison.Ordinal);
    }

    [Fact]
    public void TrimmedPublish_KeepsWhatReflectionFinds()
    {
        // Measured: a trimmed build without these answers the registry API with 500 (docs/deploy.md#trimming).
        var project = File.ReadAllText(Path.Combine(RepoPaths.Root, "proxy", "Herald.Proxy.csproj"));

        Assert.Contains("<TrimmerRootAssembly Include=\"Herald.Xds\" />", project, StringComparison.Ordinal);
        Assert.Contains("<TrimmerRootAssembly Include=\"Google.Protobuf\" />", project, StringComparison.Ordinal);
        Assert.Contains("<TrimmerRootAssembly Include=\"YamlDotNet\" />", project, StringComparison.Ordinal);
        Assert.Contains("<JsonSerializerIsReflectionEnabledByDefault>true</JsonSerializerIsReflectionEnabledByDefault>", project, StringComparison.Ordinal);
    }

    [Fact]
    public void InitImage_TakesTheExecutableFromTheSidecarImage()
    {
        var herald = Init.Stages.Single(s => s.Name == "herald");

        Assert.StartsWith("herald/herald:", herald.From, StringComparison.Ordinal);
        Assert.Contains(Init.Final.All("COPY"), c => c.Arguments.StartsWith("--from=herald ", StringComparison.Ordinal));
    }

    [Fact]
    public void DockerIgnore_LeavesBuildOutputsOut()
    {
        var ignore = File.ReadAllLines(Path.Combine(DockerDirectory, "Dockerfile.dockerignore"));

        Assert.Contains("**/bin/", ignore);
        Assert.Contains("**/obj/", ignore);
        Assert.Contains("**/node_modules/", ignore);
        Assert.Contains("xds/.protos/", ignore);
    }

    [Fact]
    public void Compose_Images_PinnedAndHeraldsBuiltFromTheDockerfile()
    {
        var compose = File.ReadAllText(Path.Combine(DockerDirectory, "compose.yaml"));

        foreach (Match image in ImageLine().Matches(compose))
        {
            AssertPinned(image.Groups[1].Value.Trim('"'), "compose.yaml");
        }

        Assert.Contains("dockerfile: docker/Dockerfile", compose, StringComparison.Ordinal);
        Assert.Contains("read_only: true", compose, StringComparison.Ordinal);
        Assert.Contains($"user: \"{HeraldContainers.ProxyUid}:{HeraldContainers.ProxyUid}\"", compose, StringComparison.Ordinal);
    }

    internal static void AssertPinned(string image, string where)
    {
        var digest = image.IndexOf("@sha256:", StringComparison.Ordinal);
        if (digest >= 0)
        {
            Assert.Matches("^[0-9a-f]{64}$", image[(digest + 8)..]);
            image = image[..digest];
        }

        var slash = image.LastIndexOf('/');
        var colon = image.LastIndexOf(':');
        Assert.True(colon > slash, $"{where}: '{image}' has no tag; pin an exact version");
        var tag = image[(colon + 1)..];
        Assert.True(tag != "latest", $"{where}: '{image}' uses latest; pin an exact version");
        Assert.True(VersionTag().IsMatch(tag), $"{where}: '{image}' tag '{tag}' is not an exact version such as 1.27.3 or 10.0.12-noble");
    }

    [GeneratedRegex(@"^\d+\.\d+(\.\d+)?([-.][A-Za-z0-9.-]+)?$")]
    private static partial Regex VersionTag();

    [GeneratedRegex(@"^\s*-?\s*image:\s*(\S+)", RegexOptions.Multiline)]
    internal static partial Regex ImageLine();
}
