import Foundation
import UpshiftSupport

/// Whether InvenTree's containers can reach their Python package index. `invoke update` starts with
/// `install` (`pip3 install -U pip setuptools`, the requirements, then plugins.txt), which fails on a host
/// without it; in the docker image every requirement is already installed, so upshift then runs what
/// `update` does after `install` (migrate, static, and from 1.3 clean-settings) instead. Plugins listed in
/// plugins.txt are the exception: a new image only has them after pip installed them.
public struct PackageIndexProbe: Sendable, Hashable, Codable {
    /// The index host (`pypi.org`, a mirror's host), never its credentials.
    public var host: String
    public var reachable: Bool
    /// Why not, when not (`Temporary failure in name resolution`).
    public var problem: String?
    /// plugins.txt entries, when plugins are enabled (`INVENTREE_PLUGINS_ENABLED`).
    public var plugins: [String]

    public init(host: String, reachable: Bool, problem: String? = nil, plugins: [String] = []) {
        self.host = host
        self.reachable = reachable
        self.problem = problem
        self.plugins = plugins
    }

    /// Runs in a one-off container of the application service (its networks, proxies and `PIP_INDEX_URL`),
    /// with Python, which every InvenTree image has. Name resolution gets 5 s: an unanswered lookup on a
    /// compose network takes 10 s to fail, and pip itself would retry for a minute.
    static let script = #"""
import json, os, socket, sys, threading, urllib.parse, urllib.request
url = os.environ.get('PIP_INDEX_URL') or 'https://pypi.org/simple/'
parts = urllib.parse.urlsplit(url)
host = parts.hostname or url
out = {'host': host, 'reachable': False, 'problem': None, 'plugins': []}
if os.environ.get('INVENTREE_PLUGINS_ENABLED', '').strip().lower() in ('1', 'y', 'yes', 't', 'true', 'on'):
    path = os.environ.get('INVENTREE_PLUGIN_FILE') or os.path.join(os.environ.get('INVENTREE_DATA_DIR', '/home/inventree/data'), 'plugins.txt')
    try:
        with open(path, encoding='utf-8') as f:
            out['plugins'] = [l.split('#', 1)[0].strip() for l in f if l.split('#', 1)[0].strip()]
    except OSError:
        pass
result = {}
def resolve():
    try:
        socket.getaddrinfo(host, parts.port or (443 if parts.scheme == 'https' else 80))
        result['ok'] = True
    except Exception as e:
        result['error'] = str(e)
t = threading.Thread(target=resolve, daemon=True)
t.start()
t.join(5)
if not result.get('ok'):
    out['problem'] = result.get('error') or 'no answer to the name lookup within 5 s'
else:
    try:
        urllib.request.urlopen(url.rstrip('/') + '/pip/', timeout=10).close()
        out['reachable'] = True
    except Exception as e:
        out['problem'] = str(getattr(e, 'reason', e))
print('UPSHIFT-INDEX ' + json.dumps(out))
"""#

    /// Probes through `tasks`' service. - Throws: when the probe itself cannot run.
    public static func run(_ tasks: InvenTreeTasks, progress: @Sendable (String) -> Void = { _ in }) async throws -> PackageIndexProbe {
        progress("checking whether \(tasks.server) reaches its package index (invoke update starts with pip)")
        let result = try await tasks.compose.runner.run(tasks.runCommand(["-c", script], entrypoint: "python3", timeout: .seconds(120)))
        guard result.termination.isSuccess,
              let line = result.stdoutText.split(whereSeparator: \.isNewline).last(where: { $0.hasPrefix("UPSHIFT-INDEX ") }),
              let probe = try? JSONDecoder().decode(PackageIndexProbe.self, from: Data(line.dropFirst("UPSHIFT-INDEX ".count).utf8)) else {
            throw UpshiftError("cannot check whether \(tasks.server) reaches its package index: \(InvokeOutput.tail(result.stderrText, lines: 3))")
        }
        return probe
    }

    /// Plain words for plans and errors.
    public var summary: String {
        reachable ? "package index \(host) reachable" : "package index \(host) unreachable (\(problem ?? "?"))"
    }

    /// The plan note of a step that runs update's tasks: `nil` when the index answers and `update` itself runs.
    public var installLeftOutNote: String? {
        reachable ? nil : "\(summary): update's pip install is left out (the image has its requirements)"
    }

    /// What the plan must say when plugins are listed and pip cannot run: they are used as installed (a plugin
    /// directory or virtualenv on the data volume keeps them across images); the verification after the
    /// migration shows whether their tables came through.
    public var pluginWarning: String? {
        guard !reachable, !plugins.isEmpty else { return nil }
        return "plugins.txt lists \(plugins.joined(separator: ", ")) and the package index is out of reach (\(host): \(problem ?? "?")): they are not reinstalled, so they must already be installed where the image finds them (a plugin directory or virtualenv on the data volume)"
    }
}
