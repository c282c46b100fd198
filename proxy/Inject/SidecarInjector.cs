using System.Text;
using Herald.Proxy.Config;
using YamlDotNet.Core.Events;
using YamlDotNet.RepresentationModel;
using static Herald.Proxy.Inject.YamlNodes;

namespace Herald.Proxy.Inject;

/// <summary>What <see cref="SidecarInjector.Inject"/> wrote, and a note per document it left alone on purpose.</summary>
internal sealed record InjectResult(string Text, IReadOnlyList<string> Notes, int Injected);

/// <summary>
/// Adds Herald's init container and native sidecar to every pod template of a Kubernetes
/// manifest stream. Injection replaces any containers named <c>herald-init</c> or
/// <c>herald-proxy</c>, so injecting twice gives what injecting once gave. A document that
/// does not change (not a workload, opted out, already injected the same way) is written
/// back exactly as it was read. All documents are checked before anything is returned.
/// </summary>
internal sealed class SidecarInjector
{
    private readonly InjectOptions _options;

    public SidecarInjector(InjectOptions options)
    {
        _options = options;
    }

    public InjectResult Inject(string text)
    {
        var documents = ManifestStream.Parse(text);
        var output = new StringBuilder(text.Length * 2);
        var notes = new List<string>();
        var injected = 0;
        foreach (var document in documents)
        {
            if (document.IsEmpty)
            {
                output.Append(document.Text);
                continue;
            }

            if (document.Root is not YamlMappingNode root)
            {
                throw new ConfigException($"document {document.Number}", "is not a Kubernetes object (a mapping with apiVersion and kind)", "Remove the document or make it a Kubernetes object");
            }

            var before = ManifestWriter.Write(root);
            var count = InjectObject(root, $"document {document.Number}", string.Empty, notes);
            injected += count;
            var after = ManifestWriter.Write(root);
            if (count == 0 || after == before)
            {
                output.Append(document.Text);
                continue;
            }

            EnsureNewLine(output);
            var header = LeadingComments(document.Text);
            if ((document.ExplicitStart || document.Number > 1) && !header.Contains("---", StringComparison.Ordinal))
            {
                output.Append("---\n");
            }

            output.Append(header).Append(after);
        }

        return new InjectResult(output.ToString(), notes, injected);
    }

    /// <summary>Injects one object (recursing into a List's items); returns the number of pod templates injected.</summary>
    private int InjectObject(YamlMappingNode root, string document, string prefix, List<string> notes)
    {
        var kind = Text(root, "kind");
        var metadata = Child(root, "metadata") as YamlMappingNode;
        var name = metadata is null ? null : Text(metadata, "name") ?? Text(metadata, "generateName");
        if (kind is null)
        {
            throw new ConfigException($"{document}, {prefix}kind", "is missing", "Every Kubernetes object needs apiVersion and kind");
        }

        var where = $"{document} ({kind} {name ?? "unnamed"}), {prefix}";
        if (kind == "List")
        {
            if (Child(root, "items") is not YamlSequenceNode items)
            {
                return 0;
            }

            var total = 0;
            for (var i = 0; i < items.Children.Count; i++)
            {
                if (items.Children[i] is not YamlMappingNode item)
                {
                    throw new ConfigException($"{document}, {prefix}items[{i}]", "is not a Kubernetes object", "Make every item a mapping with apiVersion and kind");
                }

                total += InjectObject(item, document, $"{prefix}items[{i}].", notes);
            }

            return total;
        }

        string[]? templatePath = kind switch
        {
            "Pod" => [],
            "Deployment" or "StatefulSet" or "DaemonSet" or "ReplicaSet" or "ReplicationController" or "Job" => ["spec", "template"],
            "CronJob" => ["spec", "jobTemplate", "spec", "template"],
            _ => null,
        };
        if (templatePath is null)
        {
            notes.Add($"{where.TrimEnd(',', ' ')}: not a workload, unchanged");
            return 0;
        }

        var template = root;
        var path = prefix.TrimEnd('.');
        foreach (var key in templatePath)
        {
            path = path.Length == 0 ? key : $"{path}.{key}";
            if (Child(template, key) is not YamlMappingNode next)
            {
                throw new ConfigException($"{where}{path[prefix.Length..]}", Child(template, key) is null ? "is missing" : "is not a mapping", $"A {kind} needs a pod template at {string.Join('.', templatePath)}");
            }

            template = next;
        }

        var specPath = templatePath.Length == 0 ? "spec" : $"{string.Join('.', templatePath)}.spec";
        var metadataPath = templatePath.Length == 0 ? "metadata" : $"{string.Join('.', templatePath)}.metadata";
        if (Child(template, "spec") is not YamlMappingNode podSpec)
        {
            throw new ConfigException($"{where}{specPath}", "is missing or not a mapping", $"A {kind} needs a pod spec at {specPath}");
        }

        var podMetadata = Child(template, "metadata") as YamlMappingNode;
        var annotations = new PodAnnotations(podMetadata, $"{prefix}{metadataPath}");
        if (annotations.OptOutKey is { } optOut)
        {
            notes.Add($"{where}{metadataPath}: opted out with {optOut}: \"false\", unchanged");
            return 0;
        }

        if (Text(podSpec, "hostNetwork") is "true")
        {
            notes.Add($"{where}{specPath}.hostNetwork: pods on the host's network are not injected (interception would capture the node's traffic), unchanged");
            return 0;
        }

        try
        {
            InjectPod(podSpec, $"{prefix}{specPath}", annotations, WorkloadName(annotations, kind, name, $"{prefix}{metadataPath}"));
        }
        catch (ConfigException e)
        {
            throw new ConfigException($"{where}{e.FieldPath[prefix.Length..]}", e.Problem, e.Fix);
        }

        return 1;
    }

    private void InjectPod(YamlMappingNode podSpec, string specPath, PodAnnotations annotations, string workload)
    {
        if (Child(podSpec, "containers") is not YamlSequenceNode { Children.Count: > 0 } containers)
        {
            throw new ConfigException($"{specPath}.containers", "is missing or empty", "A pod needs at least one container");
        }

        for (var i = 0; i < containers.Children.Count; i++)
        {
            if (containers.Children[i] is YamlMappingNode container && Text(container, "name") is HeraldContainers.InitName or HeraldContainers.ProxyName)
            {
                throw new ConfigException($"{specPath}.containers[{i}].name", $"'{Text(container, "name")}' is the name of a container Herald adds", "Rename the container");
            }
        }

        // Everything is validated before the pod spec is touched.
        var mode = annotations.Mode(_options.Interception);
        var init = HeraldContainers.Init(_options, mode, annotations.InterceptionFlags());
        var proxy = HeraldContainers.Proxy(_options, mode, workload, annotations.ServiceName, annotations);

        var initContainers = Child(podSpec, "initContainers");
        if (initContainers is not null && initContainers is not YamlSequenceNode && !IsNull(initContainers))
        {
            throw new ConfigException($"{specPath}.initContainers", "is not a list", "Make initContainers a list of containers");
        }

        var sequence = initContainers as YamlSequenceNode ?? new YamlSequenceNode();
        for (var i = sequence.Children.Count - 1; i >= 0; i--)
        {
            if (sequence.Children[i] is YamlMappingNode existing && Text(existing, "name") is HeraldContainers.InitName or HeraldContainers.ProxyName)
            {
                sequence.Children.RemoveAt(i);
            }
        }

        // Interception first, then the proxy, then the pod's own init containers, which so
        // already reach the network through the proxy.
        // Herald's containers are long: a flow list (`initContainers: [...]`) becomes a block list.
        sequence.Style = SequenceStyle.Block;
        sequence.Children.Insert(0, init);
        sequence.Children.Insert(1, proxy);
        Set(podSpec, "initContainers", sequence, before: "containers");
    }

    /// <summary>The sidecar's <c>--cluster</c>: the annotation, else the app labels, else the object's name.</summary>
    private static string WorkloadName(PodAnnotations annotations, string kind, string? name, string metadataPath)
    {
        var workload = annotations.WorkloadName ?? annotations.Label("app.kubernetes.io/name") ?? annotations.Label("app") ?? name?.TrimEnd('-');
        if (string.IsNullOrEmpty(workload))
        {
            throw new ConfigException(metadataPath, $"the {kind} has no name or app label to name its workload", $"Set metadata.name, an 'app' label, or the {PodAnnotations.Workload} annotation");
        }

        return workload;
    }

    /// <summary>The separator, blank and comment lines a document starts with, kept when the document is re-emitted.</summary>
    private static string LeadingComments(string text)
    {
        var end = 0;
        while (end < text.Length)
        {
            var newline = text.IndexOf('\n', end);
            var line = (newline < 0 ? text[end..] : text[end..newline]).Trim();
            if (line.Length > 0 && line[0] != '#' && line != "---")
            {
                break;
            }

            end = newline < 0 ? text.Length : newline + 1;
        }

        return text[..end];
    }

    private static void EnsureNewLine(StringBuilder output)
    {
        if (output.Length > 0 && output[^1] != '\n')
        {
            output.Append('\n');
        }
    }
}
