using Herald.Proxy.Inject;
using Herald.Tests.Inject;
using Xunit;
using YamlDotNet.RepresentationModel;

namespace Herald.Tests.Docker;

/// <summary>The Kubernetes examples under docker/kubernetes: valid, pinned, and the injected example is what <c>herald inject</c> writes.</summary>
public sealed class KubernetesExamplesTests
{
    private static string KubernetesDirectory => Path.Combine(DockerfileLintTests.DockerDirectory, "kubernetes");

    public static TheoryData<string> Manifests()
    {
        var data = new TheoryData<string>();
        foreach (var file in Directory.GetFiles(KubernetesDirectory, "*.yaml").Order(StringComparer.Ordinal))
        {
            data.Add(Path.GetFileName(file));
        }

        return data;
    }

    [Fact]
    public async Task DemoApp_InjectedFile_IsWhatHeraldInjectWrites()
    {
        // Regenerate with: herald inject -f docker/kubernetes/demo-app.yaml -o docker/kubernetes/demo-app.injected.yaml
        var (exit, output, stderr) = await GoldenInjectTests.RunAsync(["-f", Path.Combine(KubernetesDirectory, "demo-app.yaml")]);

        Assert.True(exit == 0, stderr);
        Assert.Equal(await File.ReadAllTextAsync(Path.Combine(KubernetesDirectory, "demo-app.injected.yaml")), output);
    }

    [Theory]
    [MemberData(nameof(Manifests))]
    public void Manifest_EveryDocument_IsAnObjectWithPinnedImages(string file)
    {
        var path = Path.Combine(KubernetesDirectory, file);
        var documents = ManifestStream.Parse(File.ReadAllText(path));

        Assert.NotEmpty(documents);
        foreach (var document in documents)
        {
            var root = Assert.IsType<YamlMappingNode>(document.Root);
            Assert.NotNull(YamlNodes.Text(root, "apiVersion"));
            Assert.NotNull(YamlNodes.Text(root, "kind"));
        }

        foreach (System.Text.RegularExpressions.Match image in DockerfileLintTests.ImageLine().Matches(File.ReadAllText(path)))
        {
            DockerfileLintTests.AssertPinned(image.Groups[1].Value.Trim('"'), file);
        }
    }

    [Theory]
    [MemberData(nameof(Manifests))]
    public void Manifest_HeraldContainers_NonRootOnReadOnlyFilesystems(string file)
    {
        var text = File.ReadAllText(Path.Combine(KubernetesDirectory, file));
        var heraldImages = text.Split('\n').Count(l => l.TrimStart().StartsWith("image: herald/herald:", StringComparison.Ordinal));

        Assert.True(text.Split("runAsUser: 1337").Length - 1 >= heraldImages, $"{file}: every herald container runs as UID 1337");
        Assert.True(text.Split("readOnlyRootFilesystem: true").Length - 1 >= heraldImages, $"{file}: every herald container has a read-only root filesystem");
    }
}
