import Foundation
import UpshiftApps
import UpshiftCompose
import UpshiftSupport

extension Doctor {
    /// Checksums, encoding/locale, superuser, extensions, md5, collation: from the running server, or
    /// pg_controldata for checksums when it is stopped.
    func clusterChecks(_ stage: inout DoctorStage, images: DoctorImages) async {
        await diskSpaceCheck(&stage)
        let db = stage.database
        let initdbArgs = stage.initdbArgs
        let targetText = stage.targetImage.description
        stage.targetImageLocal = stage.engine ? await images.isLocal(targetText) : false

        let checksums: Bool?
        let checksumSource: String
        if let cluster = stage.cluster {
            checksums = cluster.dataChecksums
            checksumSource = "SHOW data_checksums"
        } else if let version = stage.controlData?.checksumVersion {
            checksums = version != 0
            checksumSource = "pg_controldata"
        } else {
            checksums = nil
            checksumSource = stage.clusterError.map { "psql failed: \($0)" } ?? "the database is not running and pg_controldata was not read"
        }
        stage.add(DoctorRules.checksums(enabled: checksums, source: checksumSource, targetMajor: stage.target, imageMajor: db.imageMajor, initdbArgs: initdbArgs))

        // The locale the new image's initdb picks: its LANG (the official images set it), else the current image's.
        var targetLocale: String?
        var localeSource = "unknown"
        if stage.engine {
            if stage.targetImageLocal, let env = await images.environment(targetText), let lang = env["LANG"] {
                targetLocale = lang
                localeSource = "LANG of \(targetText)"
            } else if let helper = stage.helperImage, let env = await images.environment(helper), let lang = env["LANG"] {
                targetLocale = lang
                localeSource = "LANG of \(helper); \(targetText) is not local"
            }
        }
        stage.add(DoctorRules.encodingLocale(cluster: stage.cluster, targetLocale: targetLocale, targetSource: localeSource, initdbArgs: initdbArgs, upgrading: stage.upgrading))
        stage.add(DoctorRules.superuser(database: db, cluster: stage.cluster))
        stage.add(DoctorRules.walLevel(cluster: stage.cluster, upgrading: stage.upgrading, service: db.service))

        var available: Result<Set<String>, UpshiftError>?
        if stage.upgrading, stage.targetImageLocal, let cluster = stage.cluster, !cluster.extensions.isEmpty {
            progress("listing the extensions of \(targetText)")
            do {
                available = .success(try await PgUpgradePreflight.availableExtensions(image: targetText, runner: runner))
            } catch let error as UpshiftError {
                available = .failure(error)
            } catch {
                available = .failure(UpshiftError("\(error)"))
            }
        }
        stage.add(DoctorRules.extensions(cluster: stage.cluster, available: available, targetImage: targetText, upgrading: stage.upgrading))
        stage.add(DoctorRules.md5(cluster: stage.cluster, targetMajor: stage.target))
        stage.add(DoctorRules.collation(cluster: stage.cluster))
        // A running database whose SQL could not be read: say so instead of "not running".
        if stage.cluster == nil, let error = stage.clusterError {
            for index in stage.report.checks.indices where stage.report.checks[index].status == .skip
                && [DoctorCheckID.encodingLocale, DoctorCheckID.extensions, DoctorCheckID.md5, DoctorCheckID.collation].contains(stage.report.checks[index].id) {
                stage.report.checks[index].status = .warn
                stage.report.checks[index].found = "not checked: psql in \(db.service) failed: \(error)"
                stage.report.checks[index].fix = "check that POSTGRES_USER/POSTGRES_PASSWORD match the cluster and that psql works: docker compose exec \(db.service) psql -U \(db.superuser)"
            }
        }
    }

    /// The image line pg-upgrade edits, and whether the target image can be had.
    func imageChecks(_ stage: inout DoctorStage, project: ComposeProject, images: DoctorImages) async {
        let db = stage.database
        var edit: Result<ImageTagEdit, UpshiftError>?
        if stage.upgrading, let source = project.imageSource(service: db.service, environment: environment) {
            do {
                edit = .success(try ImageSwitch.plan(
                    source: source, current: db.image, targetMajor: stage.target, environment: environment,
                    alongside: SidecarImages.sources(of: db, project: project, environment: environment)))
            } catch let error as UpshiftError {
                edit = .failure(error)
            } catch {
                edit = .failure(UpshiftError("\(error)"))
            }
            if let refusal = BuiltImageRefusal.pgUpgrade(database: db, config: project.config, targetMajor: stage.target) { edit = .failure(refusal) }
        }
        if db.imageMajor == nil || db.image.digest != nil {
            stage.add(DoctorCheck(DoctorCheckID.imageLine, "image line editable", .fail, "the image \(db.imageText) has no major tag to change (see major)"))
        } else {
            stage.add(DoctorRules.imageLine(service: db.service, edit: edit, upgrading: stage.upgrading))
        }
        var availability: DoctorRules.ImageAvailability?
        if stage.upgrading {
            if stage.engine {
                progress("checking \(stage.targetImage) without pulling it")
                availability = stage.targetImageLocal ? .local : await images.availability(stage.targetImage)
            } else {
                availability = .unknown(message: "no docker engine answers")
            }
        }
        stage.add(DoctorRules.targetImage(stage.targetImage.description, availability: availability, upgrading: stage.upgrading))
    }

    /// Restart policies/healthchecks/auto-updaters, the app image's pg_dump, and the app's image line (update).
    func serviceChecks(_ stage: inout DoctorStage, project: ComposeProject, images: DoctorImages) async {
        var runtime: [String: DoctorServiceRuntime] = [:]
        let result = try? await runner.run(project.cli.command(["config", "--format", "json"], timeout: .seconds(60)))
        var redactor = Redactor()
        redactor.add(stage.database.password)
        if let result, result.termination.isSuccess, let decoded = try? DoctorServiceRuntime.decode(result.standardOutput, redactor: redactor) {
            runtime = decoded
        }
        let watchers = stage.engine ? await images.watchers() : []
        stage.add(DoctorRules.interference(database: stage.database.service, runtime: runtime, watchers: watchers))

        let app = AppDetection.detect(in: project.config)
        var client: Result<Int, UpshiftError>?
        let appImage = app.serverService.flatMap { project.config.services[$0]?.image }
        if app.kind == .inventree, let appImage, stage.engine, await images.isLocal(appImage) {
            progress("asking \(appImage) for its pg_dump version")
            client = await images.pgDumpMajor(appImage)
        }
        let serverMajor = stage.cluster?.serverMajor ?? stage.probe?.major
        stage.add(DoctorRules.appClient(app: app, clientMajor: client, serverMajor: serverMajor, targetMajor: stage.target, image: appImage))

        // update: the app's tag must be editable too.
        if app.kind == .inventree, let server = app.serverService {
            var edit: Result<ImageTagEdit, UpshiftError>?
            if let source = project.imageSource(service: server, environment: environment) {
                do {
                    edit = .success(try SetTagStep.prepare(source: source, tag: Self.probeTag(current: app.version), environment: environment))
                } catch let error as UpshiftError {
                    edit = .failure(error)
                } catch {
                    edit = .failure(UpshiftError("\(error)"))
                }
            }
            var check = DoctorRules.imageLine(service: server, edit: edit, upgrading: true, id: DoctorCheckID.appImageLine, what: "app image line editable (update)")
            if case .success(let edit) = edit {
                check.found = "\((edit.file as NSString).lastPathComponent) line \(edit.lineNumber): `\(edit.oldLine.trimmingCharacters(in: .whitespaces))` (upshift update --to VERSION edits this)"
            }
            if !app.hasReleaseVersion, check.status == .pass {
                check.status = .warn
                check.found += "; the tag \(app.version ?? "latest") is a moving tag"
                check.fix = "pin the release you run (e.g. INVENTREE_TAG=1.0.0) so updates and rollbacks know the version"
            }
            stage.add(check)
        }
    }

    /// A tag different from the current one, only used to ask the editor whether it could edit the line.
    static func probeTag(current: String?) -> String {
        current == "0.0.0" ? "0.0.1" : "0.0.0"
    }
}
