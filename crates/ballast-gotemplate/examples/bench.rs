//! A rough throughput check: renders a chart-like template set (helpers included many times,
//! ranges over values, conditionals, printf) and prints the time per render.
//! Run: `cargo run --release -p ballast-gotemplate --example bench`.

use std::rc::Rc;
use std::time::Instant;

use ballast_gotemplate::{Arity, Func, FuncMap, Map, MissingKey, Templates, Value};

const HELPERS: &str = r#"
{{- define "app.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- define "app.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}
{{- define "app.labels" -}}
app.kubernetes.io/name: {{ include "app.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- if .Chart.AppVersion }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
{{- end }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end }}
"#;

const DEPLOY: &str = r#"
{{- range $i, $c := .Values.components }}
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: {{ include "app.fullname" $ }}-{{ $c.name }}
  labels:
    {{- include "app.labels" $ | nindent 4 }}
spec:
  replicas: {{ $c.replicas | default 1 }}
  template:
    spec:
      containers:
        {{- range $c.containers }}
        - name: {{ .name }}
          image: "{{ .image }}:{{ .tag | default $.Chart.AppVersion }}"
          {{- if .ports }}
          ports:
            {{- range .ports }}
            - containerPort: {{ . }}
              protocol: TCP
            {{- end }}
          {{- end }}
          env:
            {{- range $k, $v := $.Values.env }}
            - name: {{ $k | upper }}
              value: {{ $v | quote }}
            {{- end }}
        {{- end }}
{{- end }}
"#;

fn s(x: &str) -> Value {
    Value::from(x)
}

fn funcs() -> FuncMap {
    let mut f = FuncMap::new();
    f.pure("default", Arity::AtLeast(1), |a| {
        let v = a.last().cloned().unwrap_or_default();
        Ok(if v.truthy() { v } else { a[0].clone() })
    });
    f.pure("trunc", Arity::Exact(2), |a| {
        let n = a[0].as_i64().unwrap_or(0) as usize;
        let st = a[1].as_str().unwrap_or_default();
        Ok(s(&st.chars().take(n).collect::<String>()))
    });
    f.pure("trimSuffix", Arity::Exact(2), |a| {
        let suf = a[0].as_str().unwrap_or_default();
        let st = a[1].as_str().unwrap_or_default();
        Ok(s(st.strip_suffix(suf).unwrap_or(st)))
    });
    f.pure("contains", Arity::Exact(2), |a| {
        Ok(Value::Bool(
            a[1].as_str()
                .unwrap_or_default()
                .contains(a[0].as_str().unwrap_or_default()),
        ))
    });
    f.pure("quote", Arity::AtLeast(0), |a| {
        Ok(s(&ballast_gotemplate::fmt::quote(&a[0].to_string())))
    });
    f.pure("upper", Arity::Exact(1), |a| Ok(s(&a[0].to_string().to_uppercase())));
    f.pure("nindent", Arity::Exact(2), |a| {
        let n = a[0].as_i64().unwrap_or(0) as usize;
        let pad = " ".repeat(n);
        let body = a[1].to_string();
        Ok(s(&format!("\n{pad}{}", body.replace('\n', &format!("\n{pad}")))))
    });
    f.insert(
        "include",
        Func::new(Arity::Exact(2), |env, a| {
            let name = a[0].as_str().unwrap_or_default().to_string();
            env.execute_template(&name, a[1].clone())
                .map(Value::from)
                .map_err(|e| e.message)
        }),
    );
    f
}

fn map(pairs: Vec<(&str, Value)>) -> Value {
    Value::map(pairs.into_iter().map(|(k, v)| (k.to_string(), v)).collect::<Map>())
}

fn main() {
    let mut t = Templates::new(Rc::new(funcs()));
    t.missing_key(MissingKey::Zero);
    t.parse("_helpers.tpl", HELPERS).expect("helpers");
    t.parse("deploy.yaml", DEPLOY).expect("deploy");
    let containers: Vec<Value> = (0..3)
        .map(|i| {
            map(vec![
                ("name", s(&format!("c{i}"))),
                ("image", s("registry.example/app")),
                ("ports", Value::list(vec![Value::Float(8080.0), Value::Float(9090.0)])),
            ])
        })
        .collect();
    let components: Vec<Value> = (0..50)
        .map(|i| {
            map(vec![
                ("name", s(&format!("comp{i}"))),
                ("replicas", Value::Float(2.0)),
                ("containers", Value::list(containers.clone())),
            ])
        })
        .collect();
    let env: Map = (0..10).map(|i| (format!("var{i}"), s(&format!("value {i}")))).collect();
    let data = map(vec![
        ("Chart", map(vec![("Name", s("app")), ("AppVersion", s("1.2.3"))])),
        ("Release", map(vec![("Name", s("rel")), ("Service", s("Helm"))])),
        (
            "Values",
            map(vec![("components", Value::list(components)), ("env", Value::map(env))]),
        ),
    ]);
    let out = t.execute("deploy.yaml", &data).expect("render");
    let n = 200;
    let start = Instant::now();
    for _ in 0..n {
        let o = t.execute("deploy.yaml", &data).expect("render");
        assert_eq!(o.len(), out.len());
    }
    let per = start.elapsed() / n;
    println!("{} bytes per render, {:?} per render", out.len(), per);
}
